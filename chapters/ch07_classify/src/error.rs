//! Everything that can go wrong in this chapter, each with what to do about it.

use std::path::PathBuf;

use common::config::InvalidConfig;
use common::train::{CheckpointError, Diverged};
use common::{DataError, DeviceFailed};

#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Diverged(#[from] Diverged),
    #[error(transparent)]
    Device(#[from] DeviceFailed),
    #[error(transparent)]
    Bert(#[from] bert::BertError),
    #[error(transparent)]
    Gpt(#[from] gpt::GptError),
    #[error(transparent)]
    TokenizerFile(#[from] common::hub::TokenizerFileError),
    #[error(
        "{path}, line {line}: {problem}; each line of the SMS Spam Collection is `ham` or `spam`, a tab, then the \
         message"
    )]
    BadRow {
        path: PathBuf,
        line: usize,
        problem: String,
    },
    #[error("{path} holds no {label} message: a classifier needs examples of both classes")]
    MissingClass { path: PathBuf, label: &'static str },
    #[error("the message is empty: give some text to classify")]
    EmptyMessage,
    #[error(
        "the GPT in {path} reads characters, and SMS messages hold digits, '£' and emoji it has never seen: \
         pretrain a GPT with byte-level BPE instead"
    )]
    CharacterGpt { path: PathBuf },
    #[error("{path} is not a checkpoint of a {backbone} backbone ({message}): pass the run directory of {hint}")]
    WrongBackbone {
        path: PathBuf,
        backbone: &'static str,
        message: String,
        hint: &'static str,
    },
    #[error(
        "{path} is not a classifier's checkpoint ({message}); `classify train` writes one into its --out \
         (a chapter 5 or 6 pretraining run is a backbone: `classify train --gpt DIR` or `classify train --bert DIR`)"
    )]
    NotAClassifier { path: PathBuf, message: String },
    #[error(
        "{path}: {message}; the checkpoint's files do not belong together: put back the run's own files, or train \
         again"
    )]
    Inconsistent { path: PathBuf, message: String },
    #[error("unknown {what} {name:?}: choose one of {choices}")]
    Unknown {
        what: &'static str,
        name: String,
        choices: &'static str,
    },
    #[error("could not tokenize the message: {0}")]
    Tokenize(String),
    #[error(transparent)]
    InvalidConfig(#[from] InvalidConfig),
    #[error("{path}: {message}; delete the file to run that cell of the grid again")]
    GridFile { path: PathBuf, message: String },
    #[error(
        "{path} was measured with another configuration (protocol, epochs, LoRA rank...) than this grid's: give the \
         grid another --out, or delete the file to measure it again"
    )]
    GridChanged { path: PathBuf },
    #[error(
        "{path} is not a table the grid wrote, and the grid would replace it: move it elsewhere, or give the grid \
         another --out"
    )]
    NotTheGrids { path: PathBuf },
    #[error("fine-tuning needs training and validation messages: one of the splits is empty")]
    EmptySplit,
}
