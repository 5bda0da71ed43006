//! # Chapter 9: instruction fine-tuning
//!
//! A pretrained language model continues text; fine-tuned on instructions and their answers, written in one fixed
//! format, it learns to answer the next instruction in that format. This crate holds the pieces:
//!
//! - [`data`]: instruction/input/output examples (Raschka's 1,100, in the Alpaca format), read and checked, split
//!   85% for training, 10% for test, 5% for validation;
//! - [`prompt`]: the Alpaca prompt that wraps each example, and where its response begins;
//! - [`collate`](mod@collate): examples as a batch of input and target windows, padded with the end-of-text token, whose padding
//!   (and, as an option, prompt) targets are ignored;
//! - [`loss`]: the cross-entropy over the targets that are not ignored;
//! - [`tokenize`]: examples to ids with the backbone's tokenizer and an end-of-text token (added to chapter 5's
//!   models, which have none);
//! - [`synthetic`]: instructions whose answers a program checks exactly, with items, phrasings and a whole family
//!   held out of training.

pub mod collate;
pub mod data;
pub mod error;
pub mod loss;
pub mod prompt;
pub mod synthetic;
pub mod tokenize;

pub use collate::{Batch, CollateError, IGNORE, TokenizedExample, collate};
pub use data::{DataSplits, Example, InstructionDataError, load_instruction_data, parse_examples, split};
pub use error::InstructError;
pub use loss::masked_cross_entropy;
pub use prompt::{PREAMBLE, format_prompt, prompt_and_response};
pub use tokenize::{InstructionTokenizer, with_end_of_text};
