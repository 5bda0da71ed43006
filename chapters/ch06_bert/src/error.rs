//! Everything that can go wrong in this chapter, each with what to do about it.

use std::path::PathBuf;

use common::config::{ConfigFileError, InvalidConfig};
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
    #[error(transparent)]
    ConfigFile(#[from] ConfigFileError),
    #[error("no configuration named {0:?}: choose tiny or small, or give a JSON file of a RunConfig")]
    UnknownPreset(String),
    #[error("{} is a directory: give a preset (tiny or small) or a JSON file of a RunConfig", .0.display())]
    ConfigIsDirectory(PathBuf),
    #[error("not a vocabulary file ({0}): pass the vocab.json saved with a checkpoint")]
    VocabularyFile(String),
    #[error(
        "the checkpoint was trained on another text than the one given now (its training sequences differ): resume \
         with the run's own --data (none for Tiny Shakespeare), or start a new run with --overwrite or another --out"
    )]
    OtherTrainingText,
    #[error("pretraining needs at least one training and one validation sequence: use a longer text")]
    EmptySplit,
    #[error("the text has no [MASK]: write [MASK] where a token is to be guessed, e.g. \"ROMEO: I [MASK] thee\"")]
    NoMask,
    #[error("cannot tokenize {text:?}: {message}")]
    Tokenize { text: String, message: String },
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error(
        "{path} has no masked-LM head (cls.predictions.*): it is an encoder only (as all-MiniLM-L6-v2); use it \
         with `embed`, or give a BertForMaskedLM folder or a checkpoint of `bert pretrain`"
    )]
    NoMlmHead { path: PathBuf },
    #[error(transparent)]
    TokenizerFile(#[from] common::hub::TokenizerFileError),
    #[error(
        "{} has {tokens} tokens but the model's config.json has vocab_size {vocab_size}: the two files come from \
         different models; put the tokenizer.json of this model beside its weights",
        path.display()
    )]
    TokenizerLargerThanModel {
        path: PathBuf,
        tokens: usize,
        vocab_size: usize,
    },
    #[error("the input is {tokens} tokens long (with [CLS] and [SEP]) but the model reads at most {max}: shorten it")]
    SequenceTooLong { tokens: usize, max: usize },
    #[error(transparent)]
    Device(#[from] DeviceFailed),
    #[error("cannot learn the BPE vocabulary: {0}")]
    Bpe(#[from] tokens::bpe::BpeError),
    #[error(
        "the training text has too few distinct pairs for a BPE of {asked} tokens (it gave {learned}): use a longer \
         text or a smaller bpe_vocab_size"
    )]
    TextTooShortForVocab { asked: usize, learned: usize },
}
