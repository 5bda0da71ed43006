use proptest::prelude::*;
use tokens::BpeTokenizer;
use tokens::bpe::{BYTE_TOKENS, BpeError, pretokenize};

/// A small English corpus, written for these tests.
fn corpus() -> String {
    let lines = [
        "The quick brown fox jumps over the lazy dog, and the dog does not mind.",
        "A tokenizer turns text into numbers; the model only ever sees those numbers.",
        "Byte pair encoding merges the most frequent pair of tokens, again and again.",
        "She said: \"I'll be there at 10, won't you?\" He didn't answer.",
        "Thee and thou, thy and thine: the old pronouns of the plays.",
        "Numbers like 2024 and 3.14159 are split into digits and symbols.",
        "the theory of the thing is that the theatre is there for them",
    ];
    (0..30).map(|i| lines[i % lines.len()]).collect::<Vec<_>>().join("\n")
}

#[test]
fn merges_follow_the_textbook_example() {
    // Wikipedia's BPE example: "aaabdaaabac". 'aa' (4 times) is merged first; then 'ab' and 'Za' (Z = "aa") tie at
    // 2 and the pair with the smaller ids, 'ab', wins; then 'ZY' (Y = "ab"); then four pairs tie at 1 and 'ac' has
    // the smallest ids.
    let bpe = BpeTokenizer::train("aaabdaaabac", 260).unwrap();
    let (a, b, c) = (u32::from(b'a'), u32::from(b'b'), u32::from(b'c'));
    assert_eq!(bpe.merges(), [(a, a), (a, b), (256, 257), (a, c)]);
    assert_eq!(bpe.token_bytes(258), Some(&b"aaab"[..]));
    assert_eq!(bpe.encode("aaabdaaabac"), [258, u32::from(b'd'), 258, 259]);
}

#[test]
fn training_stops_when_no_pair_is_left() {
    let bpe = BpeTokenizer::train("ab", 1000).unwrap();
    assert_eq!(bpe.vocab_size(), BYTE_TOKENS + 1);
}

#[test]
fn bad_training_input_is_a_clear_error() {
    assert!(matches!(BpeTokenizer::train("", 300), Err(BpeError::EmptyCorpus)));
    let err = BpeTokenizer::train("abc", 100).unwrap_err();
    assert_eq!(
        err.to_string(),
        "a byte-level vocabulary has at least 256 tokens (one per byte); asked for 100"
    );
}

#[test]
fn merges_compress_the_training_text() {
    let text = corpus();
    let bpe = BpeTokenizer::train(&text, 400).unwrap();
    let ids = bpe.encode(&text);
    // 144 merges on this repetitive corpus take it from one token per byte to three bytes per token (measured: 2052
    // bytes, 685 tokens); pre-tokenization caps it near 4.7, one token per word.
    assert!(
        text.len() as f64 / ids.len() as f64 > 2.9,
        "{} bytes -> {} tokens",
        text.len(),
        ids.len()
    );
    assert_eq!(bpe.decode(&ids).unwrap(), text);
}

#[test]
fn save_then_load_gives_the_same_tokenizer() {
    let bpe = BpeTokenizer::train(&corpus(), 300).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bpe.json");
    bpe.save(&path).unwrap();
    assert_eq!(BpeTokenizer::load(&path).unwrap(), bpe);
}

#[test]
fn loading_a_bad_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bpe.json");
    std::fs::write(&path, r#"{"kind": "byte-level-bpe", "merges": [[97, 98], [300, 99]]}"#).unwrap();
    let err = BpeTokenizer::load(&path).unwrap_err();
    assert!(
        matches!(
            err,
            BpeError::InvalidMerge {
                index: 1,
                pair: (300, 99),
                limit: 257
            }
        ),
        "{err:?}"
    );

    std::fs::write(&path, "not json").unwrap();
    let err = BpeTokenizer::load(&path).unwrap_err();
    assert!(err.to_string().contains("is not a byte-level BPE file"), "{err}");

    let err = BpeTokenizer::load(&dir.path().join("missing.json")).unwrap_err();
    assert!(matches!(err, BpeError::Io { .. }), "{err:?}");
}

#[test]
fn decoding_an_unknown_id_is_an_error() {
    let bpe = BpeTokenizer::train("abab", 257).unwrap();
    assert!(matches!(
        bpe.decode(&[97, 257]),
        Err(BpeError::UnknownId {
            id: 257,
            vocab_size: 257
        })
    ));
}

#[test]
fn pretokenize_matches_gpt2_on_tricky_whitespace() {
    assert_eq!(
        pretokenize("Hello  world\n\nHi"),
        ["Hello", " ", " world", "\n", "\n", "Hi"]
    );
    assert_eq!(pretokenize("end   "), ["end", "   "]);
    assert_eq!(pretokenize("don't 'sup"), ["don", "'t", " '", "sup"]);
    assert_eq!(pretokenize("x=3.5!?"), ["x", "=", "3", ".", "5", "!?"]);
}

proptest! {
    /// Any UTF-8 string survives a round trip, even characters the tokenizer never saw in training.
    #[test]
    fn decode_inverts_encode_for_any_string(text in "\\PC{0,60}") {
        let bpe = trained();
        let ids = bpe.encode(&text);
        prop_assert!(ids.iter().all(|&id| (id as usize) < bpe.vocab_size()));
        prop_assert_eq!(bpe.decode(&ids).unwrap(), text);
    }

    /// Encoding is a function of the text alone.
    #[test]
    fn encoding_is_deterministic(text in "[a-z ,.']{0,80}") {
        let bpe = trained();
        prop_assert_eq!(bpe.encode(&text), bpe.encode(&text));
        prop_assert_eq!(bpe.encode(&text), trained().encode(&text));
    }

    /// Pre-tokens partition the text: they are non-empty and concatenate back to it.
    #[test]
    fn pretokens_partition_the_text(text in "\\PC{0,80}") {
        let pieces = pretokenize(&text);
        prop_assert!(pieces.iter().all(|p| !p.is_empty()));
        prop_assert_eq!(pieces.concat(), text);
    }

    /// Merges never cross a pre-token boundary: encoding the pieces one by one gives the same ids.
    #[test]
    fn merges_stay_inside_pretokens(text in "[a-zA-Z ,.'\n]{0,80}") {
        let bpe = trained();
        let piecewise: Vec<u32> = pretokenize(&text).into_iter().flat_map(|p| bpe.encode(p)).collect();
        prop_assert_eq!(bpe.encode(&text), piecewise);
    }
}

fn trained() -> BpeTokenizer {
    BpeTokenizer::train(&corpus(), 350).unwrap()
}
