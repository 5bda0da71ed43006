//! Everything that can stop chapter 9's commands, each message naming the fix.

use std::path::PathBuf;

use common::config::InvalidConfig;
use common::train::{CheckpointError, Diverged};
use common::{DataError, DeviceFailed};

use crate::collate::CollateError;
use crate::data::InstructionDataError;

#[derive(Debug, thiserror::Error)]
pub enum InstructError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Examples(#[from] InstructionDataError),
    #[error(transparent)]
    Collate(#[from] CollateError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Diverged(#[from] Diverged),
    #[error(transparent)]
    Device(#[from] DeviceFailed),
    #[error(transparent)]
    InvalidConfig(#[from] InvalidConfig),
    #[error(transparent)]
    Gpt(#[from] gpt::GptError),
    #[error(transparent)]
    Gpt2(#[from] gpt2::Gpt2Error),
    #[error(transparent)]
    Generation(#[from] gpt::generation::GenerationError),
    #[error("{path} is not a {backbone} backbone ({message}): {hint}")]
    WrongBackbone {
        path: PathBuf,
        backbone: &'static str,
        message: String,
        hint: &'static str,
    },
    #[error(
        "{path} is not an instruction-tuned model's checkpoint ({message}); `instruct finetune` writes one into its \
         --out (a chapter 5 pretraining run is a backbone: `instruct finetune --backbone gpt --from DIR`)"
    )]
    NotInstructed { path: PathBuf, message: String },
    #[error(
        "{path}: {message}; the checkpoint's files do not belong together: put back the run's own files, or fine-tune again"
    )]
    Inconsistent { path: PathBuf, message: String },
    #[error(
        "none of the {total} {split} examples fits the model's context of {context} tokens: use a backbone with a \
         longer context (chapter 9's pretraining configuration has 192)"
    )]
    NothingFits {
        split: &'static str,
        total: usize,
        context: usize,
    },
    #[error(
        "the {split} split is empty: fine-tuning needs training, validation and test examples (with --data, give at \
         least 20)"
    )]
    EmptySplit { split: &'static str },
    #[error("the instruction is empty: type what the model should do")]
    EmptyInstruction,
    #[error(
        "the prompt takes {tokens} tokens, and the model reads at most {context}: nothing is left for the answer; \
         shorten the instruction or its input"
    )]
    PromptTooLong { tokens: usize, context: usize },
    #[error(
        "--data {given} is not the file this run was fine-tuned on ({saved}): resume with its own data, or start a \
         new run"
    )]
    OtherData { given: String, saved: String },
}
