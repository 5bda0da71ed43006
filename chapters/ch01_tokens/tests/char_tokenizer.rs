use proptest::prelude::*;
use tokens::{CharTokenizer, TokenizerError};

#[test]
fn the_vocabulary_is_the_sorted_set_of_characters() {
    let tok = CharTokenizer::from_corpus("hello world").unwrap();
    assert_eq!(tok.vocab(), [' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w']);
    assert_eq!(tok.encode("hello").unwrap(), [3, 2, 4, 4, 5]);
    assert_eq!(tok.decode(&[7, 5, 6, 4, 1]).unwrap(), "world");
}

#[test]
fn an_empty_corpus_is_an_error() {
    assert_eq!(CharTokenizer::from_corpus(""), Err(TokenizerError::EmptyCorpus));
}

#[test]
fn an_unknown_character_is_named_with_its_position() {
    let tok = CharTokenizer::from_corpus("abc").unwrap();
    let err = tok.encode("cab!").unwrap_err();
    assert_eq!(err, TokenizerError::UnknownChar { ch: '!', position: 3 });
    assert!(
        err.to_string()
            .starts_with("character '!' (U+0021) at position 3 is not in the vocabulary"),
        "{err}"
    );
}

#[test]
fn an_unknown_id_is_an_error_not_a_panic() {
    let tok = CharTokenizer::from_corpus("abc").unwrap();
    assert_eq!(
        tok.decode(&[0, 3]),
        Err(TokenizerError::UnknownId { id: 3, vocab_size: 3 })
    );
}

proptest! {
    /// decode(encode(s)) == s for any string over the vocabulary.
    #[test]
    fn decode_inverts_encode(corpus in "\\PC{1,40}", picks in prop::collection::vec(any::<prop::sample::Index>(), 0..60)) {
        let tok = CharTokenizer::from_corpus(&corpus).unwrap();
        let text: String = picks.iter().map(|i| tok.vocab()[i.index(tok.vocab_size())]).collect();
        let ids = tok.encode(&text).unwrap();
        prop_assert_eq!(ids.len(), text.chars().count());
        prop_assert!(ids.iter().all(|&id| (id as usize) < tok.vocab_size()));
        prop_assert_eq!(tok.decode(&ids).unwrap(), text);
    }

    /// The vocabulary does not depend on the order of the corpus.
    #[test]
    fn the_vocabulary_ignores_corpus_order(corpus in "\\PC{1,40}") {
        let reversed: String = corpus.chars().rev().collect();
        prop_assert_eq!(CharTokenizer::from_corpus(&corpus).unwrap(), CharTokenizer::from_corpus(&reversed).unwrap());
    }
}
