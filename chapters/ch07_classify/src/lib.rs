//! # Chapter 7: fine-tuning for classification
//!
//! The models of chapters 5 and 6 and a real pretrained MiniLM, fine-tuned to tell spam from ham in the SMS Spam
//! Collection, against baselines with no network at all. This crate adds:
//!
//! - [`data`]: the collection, parsed strictly, its repeats removed, and its stratified 70/10/20 split (or Raschka's
//!   balanced one);
//! - [`baselines`]: the majority class and multinomial naive Bayes on word counts;
//! - [`model`]: a classification head on a backbone, how the states are pooled, and the regimes (what is
//!   trained, with burn's freezing) with their parameter counts in closed form;
//! - [`lora`]: low-rank adaptation written here, W + (α/r)·AB, and its merge;
//! - [`backbones`]: where each backbone and its tokenizer come from;
//! - [`training`]: batches, the loss, fine-tuning with the best epoch kept, predictions;
//! - [`checkpoint`]: a classifier saved and read back;
//! - [`experiment`]: one row of the results table: a run scored on the test split, and the baselines;
//! - [`grid`]: the table, every row over several seeds as mean ± standard deviation (markdown, CSV);
//! - [`plots`]: precision-recall curves.
//!
//! The metrics are [`common::metrics`]: later chapters score with them too.

pub mod backbones;
pub mod baselines;
pub mod checkpoint;
pub mod data;
mod error;
pub mod experiment;
pub mod grid;
pub mod lora;
pub mod model;
pub mod plots;
pub mod training;

pub use backbones::{BackboneKind, TextEncoder, load_backbone};
pub use error::ClassifyError;
pub use model::{Classifier, Pooling, Regime};
pub use training::{FineTuneConfig, fine_tune};
