//! # Chapter 1: from text to vectors
//!
//! A language model never sees text. It sees a sequence of integers (token ids), looks each one up in a table of
//! learned vectors (the token embedding) and adds a vector that says where in the sequence the token stands (the
//! positional encoding). This crate builds each step:
//!
//! - [`data`]: Tiny Shakespeare, downloaded and checked on first use, split 90/10 into train and validation;
//! - [`char_tokenizer`]: one token per character, the tokenizer of char-rnn and nanoGPT's Shakespeare demo;
//! - [`bpe`]: byte-level byte-pair encoding, the tokenizer of GPT-2, trained from scratch;
//! - [`embedding`]: token embeddings, the sinusoidal positional encoding of "Attention Is All You Need", and
//!   learned positional embeddings;
//! - [`plots`]: the positional encoding as a heatmap.

pub mod bpe;
pub mod char_tokenizer;
pub mod data;
pub mod embedding;
pub mod plots;

pub use bpe::{BpeError, BpeTokenizer};
pub use char_tokenizer::{CharTokenizer, TokenizerError};
pub use embedding::{
    InputEmbedding, InputEmbeddingConfig, LearnedPositionalEmbedding, LearnedPositionalEmbeddingConfig,
    sinusoidal_positional_encoding,
};
