//! # Chapter 5: GPT
//!
//! A decoder-only Transformer trained to predict the next token of Tiny Shakespeare, then sampled from. Every
//! part comes from an earlier chapter; this crate assembles them and adds what pretraining and generation need:
//!
//! - [`model`]: the GPT (chapter 1's embeddings, chapter 3's causal attention, chapter 4's MLP and pre-LN
//!   residuals, a tied LM head), GPT-2's initialisation, and a KV cache for generation;
//! - [`data`]: the corpus as token ids, split 90/10, and batches of random windows;
//! - [`training`]: nanoGPT's recipe (AdamW with decay on matrices only, warm-up + cosine, clipping, loss
//!   estimates) and checkpoints a run resumes from exactly;
//! - [`generation`]: greedy, temperature, top-k and top-p sampling, with or without the cache;
//! - [`GptError`]: what can go wrong reading data, configurations and checkpoints, and on the device;
//! - [`bench`](mod@bench): training and sampling throughput, and peak memory;
//! - `cli` (feature `cli`): the command line, which the appendix's binary runs with its kernels plugged in.

pub mod bench;
#[cfg(feature = "cli")]
pub mod cli;
pub mod data;
mod error;
pub mod generation;
pub mod model;
pub mod training;

pub use data::{TokenSplits, Tokenizer, TokenizerKind};
pub use error::GptError;
pub use generation::{Generation, SamplingConfig, generate};
pub use model::{Block, Gpt, GptConfig, KvCache};
pub use training::{LanguageModeling, RunConfig, Trainer, TrainingConfig, trainer};
