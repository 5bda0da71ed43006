//! Everything that can go wrong in this chapter, each with what to do about it.

use std::path::PathBuf;

use common::config::InvalidConfig;
use common::train::{CheckpointError, Diverged};
use common::weights::WeightsError;
use common::{DataError, DeviceFailed};

#[derive(Debug, thiserror::Error)]
pub enum BertError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    InvalidConfig(#[from] InvalidConfig),
    #[error(transparent)]
    Diverged(#[from] Diverged),
    #[error("{path}: not a BERT configuration ({message}); a Hugging Face config.json needs at least vocab_size")]
    ConfigFile { path: PathBuf, message: String },
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error(
        "{path} has no masked-LM head (cls.predictions.*): it is an encoder only (as all-MiniLM-L6-v2); use it \
         with `embed`, or give a BertForMaskedLM folder or a checkpoint of `bert pretrain`"
    )]
    NoMlmHead { path: PathBuf },
    #[error(transparent)]
    TokenizerFile(#[from] common::hub::TokenizerFileError),
    #[error("the input is {tokens} tokens long (with [CLS] and [SEP]) but the model reads at most {max}: shorten it")]
    SequenceTooLong { tokens: usize, max: usize },
    #[error("{0}")]
    BadInput(String),
    #[error(transparent)]
    Device(#[from] DeviceFailed),
}
