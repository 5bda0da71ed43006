//! Our BPE trainer against Hugging Face's `tokenizers` (the Rust crate behind the Python library), trained on the
//! same text with the same byte-level pre-tokenizer.

use std::collections::HashMap;

use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{DecoderWrapper, NormalizerWrapper, PostProcessorWrapper, TokenizerBuilder, TokenizerImpl};
use tokens::BpeTokenizer;
use tokens::bpe::{BYTE_TOKENS, byte_to_unicode};

type HfTokenizer = TokenizerImpl<BPE, NormalizerWrapper, ByteLevel, PostProcessorWrapper, DecoderWrapper>;

fn corpus() -> String {
    let lines = [
        "First Citizen: Before we proceed any further, hear me speak.",
        "All: Speak, speak. You are all resolved rather to die than to famish?",
        "We know't, we know't. Let us kill him, and we'll have corn at our own price.",
        "What authority surfeits on would relieve us: if they would yield us but the superfluity.",
        "The leanness that afflicts us, the object of our misery, is as an inventory to particularise their abundance.",
        "Our sufferance is a gain to them. Let us revenge this with our pikes, ere we become rakes.",
    ];
    (0..40)
        .map(|i| lines[(i * 7) % lines.len()])
        .collect::<Vec<_>>()
        .join("\n")
}

/// GPT-2's printable stand-in for each byte ([`byte_to_unicode`]), inverted: how HF spells a byte in its vocabulary.
fn hf_char_to_byte() -> HashMap<char, u8> {
    (0..=255u8).map(|byte| (byte_to_unicode(byte), byte)).collect()
}

fn train_hf(text: &str, vocab_size: usize) -> HfTokenizer {
    let mut tokenizer: HfTokenizer = TokenizerBuilder::new()
        .with_model(BPE::default())
        .with_pre_tokenizer(Some(ByteLevel::new(false, false, true)))
        .build()
        .unwrap();
    let mut trainer = BpeTrainerBuilder::new()
        .vocab_size(vocab_size)
        .min_frequency(0)
        .show_progress(false)
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .build();
    tokenizer.train(&mut trainer, std::iter::once(text)).unwrap();
    tokenizer
}

/// HF's learned tokens (ids 256 and up), in the order they were learned, as bytes.
fn hf_learned_tokens(tokenizer: &HfTokenizer) -> Vec<Vec<u8>> {
    let to_byte = hf_char_to_byte();
    let mut vocab: Vec<(String, u32)> = tokenizer.get_vocab(false).into_iter().collect();
    vocab.sort_by_key(|&(_, id)| id);
    vocab[BYTE_TOKENS..]
        .iter()
        .map(|(token, _)| token.chars().map(|ch| to_byte[&ch]).collect())
        .collect()
}

/// HF's tokens for `text`, as bytes.
fn hf_encode(tokenizer: &HfTokenizer, text: &str) -> Vec<Vec<u8>> {
    let to_byte = hf_char_to_byte();
    let encoding = tokenizer.encode(text, false).unwrap();
    encoding
        .get_tokens()
        .iter()
        .map(|token| token.chars().map(|ch| to_byte[&ch]).collect())
        .collect()
}

#[test]
fn our_bpe_learns_exactly_the_merges_hugging_face_learns() {
    let text = corpus();
    // At 1000, both run out of pairs first: every pre-token of this small corpus has become a single token.
    for requested in [300, 400, 1000] {
        let ours = BpeTokenizer::train(&text, requested).unwrap();
        let hf = train_hf(&text, requested);
        let vocab_size = ours.vocab_size();
        assert_eq!(vocab_size, hf.get_vocab_size(false));
        assert_eq!(vocab_size == requested, requested < 1000);

        // Same tokens, learned in the same order: ties between equally frequent pairs are broken in GPT-2's byte
        // order by both (see `tie_break_key` in bpe.rs).
        let our_tokens: Vec<Vec<u8>> = (BYTE_TOKENS as u32..vocab_size as u32)
            .map(|id| ours.token_bytes(id).unwrap().to_vec())
            .collect();
        assert_eq!(our_tokens, hf_learned_tokens(&hf), "vocabulary of {vocab_size}");

        // And so the same segmentation, on the training text and on text neither has seen.
        for sample in [
            text.as_str(),
            "Romeo, Romeo! wherefore art thou Romeo? Deny thy father and refuse thy name.",
        ] {
            let ours_encoded: Vec<Vec<u8>> = ours
                .encode(sample)
                .into_iter()
                .map(|id| ours.token_bytes(id).unwrap().to_vec())
                .collect();
            assert_eq!(ours_encoded, hf_encode(&hf, sample), "vocabulary of {vocab_size}");
        }
    }
}

#[test]
fn the_pre_tokenizers_agree_on_english() {
    use tokenizers::{OffsetReferential, OffsetType, PreTokenizedString, PreTokenizer};
    let text = corpus();
    let mut hf = PreTokenizedString::from(text.as_str());
    ByteLevel::new(false, false, true).pre_tokenize(&mut hf).unwrap();
    let hf_pieces: Vec<&str> = hf
        .get_splits(OffsetReferential::Original, OffsetType::Byte)
        .into_iter()
        .map(|(_, (start, end), _)| &text[start..end])
        .collect();
    assert_eq!(tokens::bpe::pretokenize(&text), hf_pieces);
}
