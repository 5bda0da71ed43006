//! # Chapter 8: the real GPT-2
//!
//! OpenAI's GPT-2 run by chapter 5's code: its tokenizer is chapter 1's byte-level BPE with OpenAI's merges, its
//! weights fill chapter 5's `Gpt`, and chapter 5's sampler and KV cache generate with it.
//!
//! - [`tokenizer`]: GPT-2's `vocab.json` + `merges.txt` (or `tokenizer.json`), its pre-tokenizer regex and byte
//!   alphabet; the same ids as OpenAI's `tiktoken`;
//! - [`config`]: a Hugging Face `config.json` and the chapter 5 configuration it becomes;
//! - [`weights`]: `model.safetensors` into chapter 5's model (GPT-2's `Conv1D` layout, `c_attn` split into
//!   W^Q, W^K, W^V);
//! - [`perplexity`]: a long text's perplexity by a sliding window;
//! - [`compare`]: the worked example, models trained on the same text compared in bits per character and ROUGE;
//! - [`hub`]: GPT-2 by name, downloaded from the Hugging Face hub on first use and checked by SHA-256.
//!
//! The evaluation metrics (ROUGE beside chapter 4's BLEU) live in `common::metrics`, with the classification
//! metrics of chapter 7.

pub mod compare;
pub mod config;
mod error;
pub mod hub;
pub mod perplexity;
pub mod tokenizer;
pub mod weights;

pub use config::Gpt2Config;
pub use error::Gpt2Error;
pub use perplexity::{Perplexity, sliding_window_perplexity};
pub use tokenizer::{END_OF_TEXT, Gpt2Tokenizer};
pub use weights::load_gpt2;
