//! An instruction-tuned model on disk: the kit's checkpoint (weights, optimiser, a JSON state) with the tokenizer's
//! files beside it, read back to answer instructions or to resume the run.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use common::train::engine::read_saved_state;
use common::train::{CheckpointError, Saved, Task, checkpoint};
use gpt::Gpt;

use crate::InstructError;
use crate::backbone::{Backbone, read_tokenizer, read_tokenizer_files};
use crate::data::Example;
use crate::tokenize::InstructionTokenizer;
use crate::training::{Evaluation, InstructState, InstructionTuning, Setup, trainer};

/// A fine-tuned model read back.
pub struct Instructed {
    pub model: Gpt,
    pub tokenizer: InstructionTokenizer,
    pub state: InstructState,
    pub evaluations: Vec<Evaluation>,
    /// The checkpoint's directory.
    pub dir: PathBuf,
}

/// The checkpoint directory of `path` and its state; a directory another chapter wrote is an error saying whose.
fn open(path: &Path) -> Result<(PathBuf, Saved<InstructState, Evaluation>), InstructError> {
    let not_instructed = |message: String| InstructError::NotInstructed {
        path: path.to_path_buf(),
        message,
    };
    let dir = checkpoint::find(path).map_err(|e| not_instructed(e.to_string()))?;
    let saved: Saved<InstructState, Evaluation> =
        read_saved_state(&dir, InstructionTuning::KIND).map_err(|e| not_instructed(e.to_string()))?;
    // A model configuration edited or damaged into one no model can be built with is an error naming the field.
    if let Err(source) = saved.task.model.validate() {
        return Err(CheckpointError::InvalidConfig { dir, source }.into());
    }
    Ok((dir, saved))
}

/// What the run saved in `path` was made of (its configuration, backbone and data), without its weights.
pub fn saved_state(path: &Path) -> Result<InstructState, InstructError> {
    Ok(open(path)?.1.task)
}

/// The model saved in the run directory or checkpoint `path` by `instruct finetune`, for inference on `device`.
pub fn load(path: &Path, device: &Device) -> Result<Instructed, InstructError> {
    let (dir, saved) = open(path)?;
    let state = saved.task;
    let tokenizer = read_tokenizer(state.config.backbone, &dir, &state.model)?;
    let model = checkpoint::load_model(&dir, state.model.init(device))?;
    Ok(Instructed {
        model,
        tokenizer,
        state,
        evaluations: saved.evaluations,
        dir,
    })
}

/// The run saved in `path` continued on `train` and `val` on `device` (with autodiff), where it stood: weights,
/// optimiser moments, step and history.
pub fn resume(path: &Path, train: &[Example], val: &[Example], device: &Device) -> Result<Setup, InstructError> {
    let (dir, saved) = open(path)?;
    let state = saved.task.clone();
    let tokenizer_files = read_tokenizer_files(state.config.backbone, &dir)?;
    let backbone = Backbone {
        tokenizer: read_tokenizer(state.config.backbone, &dir, &state.model)?,
        model: state.model.init(device),
        config: state.model.clone(),
        tokenizer_files,
    };
    let setup = trainer(&state.config, backbone, &state.from, train, val, device)?;
    Ok(Setup {
        trainer: setup.trainer.resume(&dir, saved)?,
        dropped: setup.dropped,
    })
}
