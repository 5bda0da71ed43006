//! GPT-2's tokenizer against OpenAI's: `tiktoken-rs` ships GPT-2's encoding (`r50k_base`) offline. Its ranks are
//! GPT-2's ids; the folder files (`vocab.json`, `merges.txt`) are written from them as Hugging Face's GPT-2 folder
//! holds them, and Hugging Face's `tokenizers` reads the same files as a second reference.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use gpt2::{END_OF_TEXT, Gpt2Error, Gpt2Tokenizer};
use proptest::prelude::*;
use tiktoken_rs::CoreBPE;
use tokens::bpe::byte_to_unicode;

fn tiktoken() -> &'static CoreBPE {
    tiktoken_rs::r50k_base_singleton()
}

/// GPT-2's id of each of its 50,256 BPE tokens, as bytes.
fn gpt2_token_bytes() -> Vec<Vec<u8>> {
    (0..50_256)
        .map(|id| tiktoken().decode_bytes(&[id]).expect("r50k_base has ids 0..50256"))
        .collect()
}

/// The two tokens merge `id` joined: split its bytes with BPE using only the merges learned before it (lower
/// ranks), which stops at exactly two parts.
fn merge_parts(bytes: &[u8], id: u32, rank_of: &HashMap<Vec<u8>, u32>) -> (Vec<u8>, Vec<u8>) {
    let mut parts: Vec<Vec<u8>> = bytes.iter().map(|&b| vec![b]).collect();
    loop {
        let best = (0..parts.len() - 1)
            .filter_map(|i| {
                rank_of
                    .get(&[parts[i].as_slice(), &parts[i + 1]].concat())
                    .map(|&r| (r, i))
            })
            .filter(|&(rank, _)| rank < id)
            .min();
        match best {
            Some((_, i)) => {
                let right = parts.remove(i + 1);
                parts[i].extend(right);
            }
            None => break,
        }
    }
    assert_eq!(parts.len(), 2, "token {id} is not one merge of earlier tokens");
    (parts[0].clone(), parts[1].clone())
}

/// A folder with GPT-2's `vocab.json` and `merges.txt`, written once for the whole test binary.
fn gpt2_folder() -> &'static Path {
    static FOLDER: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = FOLDER.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let tokens = gpt2_token_bytes();
        let rank_of: HashMap<Vec<u8>, u32> = tokens
            .iter()
            .enumerate()
            .map(|(id, b)| (b.clone(), id as u32))
            .collect();
        let spell = |bytes: &[u8]| -> String { bytes.iter().map(|&b| byte_to_unicode(b)).collect() };
        let mut vocab: serde_json::Map<String, serde_json::Value> =
            tokens.iter().enumerate().map(|(id, b)| (spell(b), id.into())).collect();
        vocab.insert(END_OF_TEXT.into(), 50_256.into());
        let mut merges = String::from("#version: 0.2\n");
        for (id, bytes) in tokens.iter().enumerate().skip(256) {
            let (left, right) = merge_parts(bytes, id as u32, &rank_of);
            merges += &format!("{} {}\n", spell(&left), spell(&right));
        }
        std::fs::write(dir.path().join("vocab.json"), serde_json::to_string(&vocab).unwrap()).unwrap();
        std::fs::write(dir.path().join("merges.txt"), merges).unwrap();
        let path = dir.path().to_path_buf();
        (dir, path)
    });
    path
}

fn ours() -> &'static Gpt2Tokenizer {
    static TOKENIZER: OnceLock<Gpt2Tokenizer> = OnceLock::new();
    TOKENIZER.get_or_init(|| Gpt2Tokenizer::from_folder(gpt2_folder()).unwrap())
}

fn hugging_face() -> &'static tokenizers::Tokenizer {
    static TOKENIZER: OnceLock<tokenizers::Tokenizer> = OnceLock::new();
    TOKENIZER.get_or_init(|| {
        let folder = gpt2_folder();
        let vocab = folder.join("vocab.json");
        let merges = folder.join("merges.txt");
        let bpe = tokenizers::models::bpe::BPE::from_file(vocab.to_str().unwrap(), merges.to_str().unwrap())
            .build()
            .unwrap();
        let mut tokenizer = tokenizers::Tokenizer::new(bpe);
        tokenizer.with_pre_tokenizer(Some(tokenizers::pre_tokenizers::byte_level::ByteLevel::new(
            false, true, true,
        )));
        tokenizer
    })
}

#[test]
fn gpt2_files_give_tiktokens_ids_for_sentences_and_symbols() {
    assert_eq!(ours().vocab_size(), 50_257);
    assert_eq!(ours().end_of_text(), Some(50_256));
    for text in [
        "The tokenizer splits antidisestablishmentarianism",
        "Hello world",
        " Hello  world!\n\n",
        "I'll say it: they're 42 times 3.14 -- really?",
        "caf\u{e9} \u{a3}1000 \u{1F600} \u{4f60}\u{597d} na\u{ef}ve",
        "\t\u{3000}x  \u{a0}y\r\n",
        "",
    ] {
        let reference = tiktoken().encode_ordinary(text);
        assert_eq!(ours().encode(text), reference, "{text:?}");
        assert_eq!(ours().decode(&reference).unwrap(), text);
    }
    // How a word splits: GPT-2's tokens of a sentence, spelt as in its vocabulary.
    let ids = ours().encode("The tokenizer splits antidisestablishmentarianism");
    let spelt: Vec<String> = ids.iter().map(|&id| ours().token_text(id).unwrap()).collect();
    assert_eq!(
        spelt,
        [
            "The",
            "Ġtoken",
            "izer",
            "Ġsplits",
            "Ġant",
            "idis",
            "establishment",
            "arian",
            "ism"
        ]
    );
}

#[test]
fn end_of_text_is_text_unless_asked_for_as_the_separator() {
    let text = format!("one{END_OF_TEXT} two");
    assert_eq!(
        ours().encode_with_end_of_text(&text),
        tiktoken().encode_with_special_tokens(&text)
    );
    assert_eq!(ours().encode(&text), tiktoken().encode_ordinary(&text));
    assert!(!ours().encode(&text).contains(&50_256));
    assert_eq!(ours().decode(&[50_256]).unwrap(), END_OF_TEXT);
}

#[test]
fn the_whole_of_tiny_shakespeare_tokenizes_as_tiktoken_and_hugging_face_do() {
    let text = tokens::data::load_tiny_shakespeare(None).expect("Tiny Shakespeare (bash .ci/run seeds data/)");
    let reference = tiktoken().encode_ordinary(&text);
    let ours = ours().encode(&text);
    assert_eq!(ours.len(), reference.len());
    assert!(
        ours == reference,
        "first difference at token {:?}",
        ours.iter().zip(&reference).position(|(a, b)| a != b)
    );
    let hf: Vec<u32> = hugging_face().encode(text.as_str(), false).unwrap().get_ids().to_vec();
    assert!(
        hf == reference,
        "Hugging Face's tokenizers differs from tiktoken on the GPT-2 files"
    );
    eprintln!(
        "Tiny Shakespeare: {} GPT-2 tokens, {:.2} bytes per token",
        ours.len(),
        text.len() as f64 / ours.len() as f64
    );
}

#[test]
fn unknown_ids_and_bad_folders_are_clear_errors() {
    let err = ours().decode(&[50_257]).unwrap_err();
    assert!(matches!(err, Gpt2Error::UnknownToken { id: 50_257, .. }), "{err}");
    assert!(err.to_string().contains("0 to 50256"), "{err}");

    let empty = tempfile::tempdir().unwrap();
    let err = Gpt2Tokenizer::from_folder(empty.path()).unwrap_err();
    assert!(
        err.to_string().contains("vocab.json and merges.txt, or tokenizer.json"),
        "{err}"
    );

    let broken = tempfile::tempdir().unwrap();
    std::fs::copy(gpt2_folder().join("vocab.json"), broken.path().join("vocab.json")).unwrap();
    std::fs::write(broken.path().join("merges.txt"), "#version: 0.2\nĠ t\nĠt hezzz\n").unwrap();
    let err = Gpt2Tokenizer::from_folder(broken.path()).unwrap_err().to_string();
    assert!(err.contains("merge 1 uses \"hezzz\""), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any Unicode text: letters, digits, marks, spaces and symbols of every script, and unassigned code points.
    #[test]
    fn any_text_gets_tiktokens_ids_and_decodes_back(text in "\\PC{0,40}|[ \\t\\n\\r\\u{a0}\\u{3000}a-z0-9'.!]{0,40}|.{0,30}") {
        let ids = ours().encode(&text);
        prop_assert_eq!(&ids, &tiktoken().encode_ordinary(&text));
        prop_assert_eq!(ours().decode(&ids).unwrap(), text);
    }
}
