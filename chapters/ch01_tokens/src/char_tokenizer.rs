//! The simplest tokenizer: one token per character.
//!
//! The vocabulary is the sorted set of characters in the training corpus (65 for Tiny Shakespeare), and a
//! character's id is its index in that list. It needs no training and never splits a word oddly, but its sequences
//! are long: one token per character, where BPE averages three or four characters per token on English.

use std::collections::HashMap;

/// Errors of the character tokenizer, each naming the offending input.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenizerError {
    #[error("cannot build a vocabulary from an empty corpus; check that the data file is not empty")]
    EmptyCorpus,
    #[error(
        "character {ch:?} (U+{code:04X}) at position {position} is not in the vocabulary; the vocabulary holds only \
         characters seen in the training corpus, so remove it or rebuild the vocabulary from text that contains it",
        code = *ch as u32
    )]
    UnknownChar { ch: char, position: usize },
    #[error("token id {id} is outside the vocabulary (size {vocab_size})")]
    UnknownId { id: u32, vocab_size: usize },
}

// ANCHOR: char_tokenizer
/// Maps each character of a fixed vocabulary to its index and back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharTokenizer {
    /// id -> character, sorted so that the ids do not depend on the order the corpus was read in.
    itos: Vec<char>,
    /// character -> id.
    stoi: HashMap<char, u32>,
}

impl CharTokenizer {
    /// The vocabulary of every distinct character in `corpus`, sorted by code point.
    pub fn from_corpus(corpus: &str) -> Result<Self, TokenizerError> {
        let mut itos: Vec<char> = corpus.chars().collect();
        itos.sort_unstable();
        itos.dedup();
        if itos.is_empty() {
            return Err(TokenizerError::EmptyCorpus);
        }
        let stoi = itos.iter().enumerate().map(|(id, &ch)| (ch, id as u32)).collect();
        Ok(Self { itos, stoi })
    }

    pub fn vocab_size(&self) -> usize {
        self.itos.len()
    }

    /// The vocabulary in id order.
    pub fn vocab(&self) -> &[char] {
        &self.itos
    }

    /// The id of each character of `text`.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        text.chars()
            .enumerate()
            .map(|(position, ch)| {
                self.stoi
                    .get(&ch)
                    .copied()
                    .ok_or(TokenizerError::UnknownChar { ch, position })
            })
            .collect()
    }

    /// The text whose characters have these ids.
    pub fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        ids.iter()
            .map(|&id| {
                self.itos.get(id as usize).copied().ok_or(TokenizerError::UnknownId {
                    id,
                    vocab_size: self.vocab_size(),
                })
            })
            .collect()
    }
}
// ANCHOR_END: char_tokenizer
