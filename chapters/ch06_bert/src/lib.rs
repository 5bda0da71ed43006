//! # Chapter 6: BERT
//!
//! A bidirectional encoder pretrained by reconstructing hidden tokens (masked-LM), then the same architecture
//! proven exact by loading a real pretrained BERT and reproducing its outputs. Every layer comes from an earlier
//! chapter; this crate adds:
//!
//! - [`config`]: [`BertConfig`], under the Hugging Face `config.json` names;
//! - [`model`]: token + position + segment embeddings, chapter 4's encoder layers post-LN, the tied masked-LM
//!   head, the pooler, mean pooling;
//! - [`masking`]: the 80/10/10 masking recipe, padded batches, the loss over the chosen positions only;
//! - [`vocab`] and [`data`]: chapter 1's BPE with the special tokens, and Tiny Shakespeare cut into sequences;
//! - [`training`]: pretraining (the kit's optimiser, schedule, checkpoints), evaluation and its baselines, and
//!   [`training::config`], what a run is made of;
//! - [`pretrained`]: a Hugging Face folder (`config.json`, `model.safetensors`) read into the model;
//! - [`inference`]: fill-in-the-blank, sentence embeddings and cosine similarities;
//! - [`BertError`]: what can go wrong, each with what to do.

pub mod config;
pub mod data;
mod error;
pub mod inference;
pub mod masking;
pub mod model;
pub mod pretrained;
pub mod training;
pub mod vocab;

pub use config::BertConfig;
pub use error::BertError;
pub use model::{Bert, BertForMaskedLm};
pub use training::{MaskedLanguageModeling, RunConfig, Trainer};
pub use vocab::BertVocab;
