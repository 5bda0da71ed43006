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
//!   held out of training;
//! - [`backbone`]: the model fine-tuned: chapter 5's pretrained GPT, the same with random weights, or GPT-2;
//! - [`training`]: the fine-tuning task on the training kit's loop, and [`checkpoint`] to read its result back;
//! - [`respond`](mod@respond): greedy answers that stop at the end-of-text token;
//! - [`evaluate`]: exact match per synthetic family, ROUGE-L and the responses file for a judge;
//! - [`experiment`]: the chapter's table, over seeds, and [`plots`] its figures.

pub mod backbone;
pub mod checkpoint;
pub mod collate;
pub mod data;
pub mod error;
pub mod evaluate;
pub mod experiment;
pub mod loss;
pub mod plots;
pub mod prompt;
pub mod respond;
pub mod synthetic;
pub mod tokenize;
pub mod training;

pub use collate::{Batch, CollateError, IGNORE, TokenizedExample, collate};
pub use data::{DataSplits, Example, InstructionDataError, load_instruction_data, parse_examples, split};
pub use error::InstructError;
pub use loss::masked_cross_entropy;
pub use prompt::{PREAMBLE, format_prompt, prompt_and_response};
pub use respond::respond;
pub use tokenize::{InstructionTokenizer, with_end_of_text};
pub use training::{Dataset, FinetuneConfig};
