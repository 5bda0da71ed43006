//! The pretraining data: a corpus turned into one long list of token ids, split 90/10, and batches of random
//! windows cut from it, as nanoGPT's `get_batch` does.

use std::path::Path;

use burn::prelude::*;
use common::rng::SplitMix64;
use serde::{Deserialize, Serialize};
use tokens::{BpeTokenizer, CharTokenizer};

use crate::GptError;

/// The tokenizer a model was trained with; it travels in the checkpoint, since token ids mean nothing without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tokenizer {
    /// Chapter 1's one-token-per-character tokenizer (65 tokens on Tiny Shakespeare).
    Char(CharTokenizer),
    /// Chapter 1's byte-level BPE, trained on the training text.
    Bpe(BpeTokenizer),
}

/// How a [`Tokenizer`] is stored: enough to rebuild it exactly.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum StoredTokenizer {
    Char { vocab: String },
    Bpe { merges: Vec<(u32, u32)> },
}

impl Tokenizer {
    pub fn vocab_size(&self) -> usize {
        match self {
            Tokenizer::Char(t) => t.vocab_size(),
            Tokenizer::Bpe(t) => t.vocab_size(),
        }
    }

    /// The ids of `text`; an error names the first character the vocabulary lacks.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, GptError> {
        match self {
            Tokenizer::Char(t) => Ok(t.encode(text)?),
            Tokenizer::Bpe(t) => Ok(t.encode(text)),
        }
    }

    pub fn decode(&self, ids: &[u32]) -> Result<String, GptError> {
        match self {
            Tokenizer::Char(t) => Ok(t.decode(ids)?),
            Tokenizer::Bpe(t) => Ok(t.decode(ids)?),
        }
    }

    pub fn to_json(&self) -> String {
        let stored = match self {
            Tokenizer::Char(t) => StoredTokenizer::Char {
                vocab: t.vocab().iter().collect(),
            },
            Tokenizer::Bpe(t) => StoredTokenizer::Bpe {
                merges: t.merges().to_vec(),
            },
        };
        serde_json::to_string(&stored).expect("strings and integer pairs always serialize")
    }

    /// The tokenizer stored as `json` by [`Tokenizer::to_json`], read from the file `path` (named in errors).
    pub fn from_json(json: &str, path: &Path) -> Result<Self, GptError> {
        let stored: StoredTokenizer = serde_json::from_str(json).map_err(|e| GptError::TokenizerFile {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(match stored {
            StoredTokenizer::Char { vocab } => Tokenizer::Char(CharTokenizer::from_corpus(&vocab)?),
            StoredTokenizer::Bpe { merges } => Tokenizer::Bpe(BpeTokenizer::from_merges(merges)?),
        })
    }
}

/// Which tokenizer to build for a new run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenizerKind {
    Char,
    /// Byte-level BPE with this many tokens (at least 256).
    Bpe(usize),
}

/// The corpus as token ids, split into the first 90% (training) and the last 10% (validation).
#[derive(Debug, Clone)]
pub struct TokenSplits {
    pub train: Vec<u32>,
    pub val: Vec<u32>,
}

impl TokenSplits {
    /// Tokenizes `text` with a new tokenizer of `kind` (a BPE learns its merges from the training part only) and
    /// splits it 90/10. Errors on an empty corpus.
    pub fn build(text: &str, kind: TokenizerKind) -> Result<(Tokenizer, TokenSplits), GptError> {
        if text.is_empty() {
            return Err(GptError::EmptyCorpus);
        }
        let (train_text, _) = text.split_at(text.floor_char_boundary(text.len() * 9 / 10));
        let tokenizer = match kind {
            TokenizerKind::Char => Tokenizer::Char(CharTokenizer::from_corpus(text)?),
            TokenizerKind::Bpe(vocab_size) => Tokenizer::Bpe(BpeTokenizer::train(train_text, vocab_size)?),
        };
        let splits = TokenSplits::encode(text, &tokenizer)?;
        Ok((tokenizer, splits))
    }

    /// An error naming the split that is too short for one window of `block_size` + 1 tokens, the least a batch
    /// draws from.
    pub fn check_windows_fit(&self, block_size: usize) -> Result<(), GptError> {
        check_window_fits("the training split", &self.train, block_size)?;
        check_window_fits("the validation split", &self.val, block_size)
    }

    /// `text` in the ids of an existing `tokenizer` (a resumed run's), split 90/10.
    pub fn encode(text: &str, tokenizer: &Tokenizer) -> Result<TokenSplits, GptError> {
        let ids = tokenizer.encode(text)?;
        let (train, val) = tokens::data::split_train_val(&ids, 0.9);
        Ok(TokenSplits {
            train: train.to_vec(),
            val: val.to_vec(),
        })
    }
}

// ANCHOR: batch
/// `batch_size` windows of `block_size + 1` consecutive tokens from random places in `ids`: inputs x are the
/// first `block_size` tokens of each, targets y the last `block_size` (y_t = x_{t+1}). Every window teaches
/// `block_size` predictions at once, one for each context length from 1 to `block_size`.
pub fn random_windows(
    ids: &[u32],
    batch_size: usize,
    block_size: usize,
    rng: &mut SplitMix64,
    device: &Device,
) -> (Tensor<2, Int>, Tensor<2, Int>) {
    check_window_fits("the text", ids, block_size).unwrap_or_else(|e| panic!("{e}"));
    let starts: Vec<usize> = (0..batch_size).map(|_| rng.below(ids.len() - block_size)).collect();
    windows_at(ids, &starts, block_size, device)
}

/// The windows of `ids` that start at `starts`, one row each: inputs x (`block_size` tokens) and targets y (the
/// same shifted by one).
pub fn windows_at(
    ids: &[u32],
    starts: &[usize],
    block_size: usize,
    device: &Device,
) -> (Tensor<2, Int>, Tensor<2, Int>) {
    let rows = |shift: usize| {
        let tokens: Vec<i64> = starts
            .iter()
            .flat_map(|&start| &ids[start + shift..start + shift + block_size])
            .map(|&id| id as i64)
            .collect();
        Tensor::<2, Int>::from_data(TensorData::new(tokens, [starts.len(), block_size]), device)
    };
    (rows(0), rows(1))
}
// ANCHOR_END: batch

/// An error unless `ids` (`what`, in the message) holds at least one window of `block_size` + 1 tokens.
pub fn check_window_fits(what: &'static str, ids: &[u32], block_size: usize) -> Result<(), GptError> {
    if ids.len() > block_size {
        Ok(())
    } else {
        Err(GptError::TooFewTokens {
            what,
            tokens: ids.len(),
            block_size,
        })
    }
}
