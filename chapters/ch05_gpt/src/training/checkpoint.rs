//! A saved run read back: the kit's checkpoint ([`common::train::engine::Trainer::save`]) holds the model, the
//! optimizer's state, the step, the history and the task's state (configuration and batch generator); chapter 5
//! adds the tokenizer.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use common::rng::SplitMix64;
use common::train::Task;
use common::train::checkpoint;
use common::train::engine::{Saved, read_saved};

use super::{Evaluation, LanguageModeling, RunConfig, RunState, Trainer, trainer};
use crate::GptError;
use crate::data::{TokenSplits, Tokenizer};
use crate::model::{Gpt, GptConfig};

/// The tokenizer, saved beside the kit's files.
pub const TOKENIZER_FILE: &str = "tokenizer.json";

// ANCHOR: checkpoint
/// A run saved by the trainer, read back: its state and its tokenizer, checked against each other.
pub struct SavedRun {
    dir: PathBuf,
    saved: Saved<RunState, Evaluation>,
    pub tokenizer: Tokenizer,
}

/// The run saved in `path` (a run's directory or its checkpoint).
pub fn open_run(path: &Path) -> Result<SavedRun, GptError> {
    let (dir, saved) = read_saved(path, LanguageModeling::KIND, |state: &RunState| state.config.validate())?;
    let tokenizer = checkpoint::read_file(&dir, TOKENIZER_FILE)?;
    let tokenizer = Tokenizer::from_json(&String::from_utf8_lossy(&tokenizer), &dir.join(TOKENIZER_FILE))?;
    let model = &saved.task.config.model;
    if tokenizer.vocab_size() != model.vocab_size {
        return Err(GptError::InconsistentCheckpoint {
            dir,
            tokenizer: tokenizer.vocab_size(),
            model: model.vocab_size,
        });
    }
    Ok(SavedRun { dir, saved, tokenizer })
}

impl SavedRun {
    pub fn config(&self) -> &RunConfig {
        &self.saved.task.config
    }

    /// The run continued on `data` (encoded with [`SavedRun::tokenizer`]) on `device` (with autodiff), exactly where
    /// it stood: weights, optimizer moments, step, history, and the generator of the training windows.
    pub fn resume(self, data: TokenSplits, device: &Device) -> Result<Trainer, GptError> {
        let fresh = trainer(self.saved.task.config.clone(), data, self.tokenizer, device)?;
        let rng = SplitMix64::new(self.saved.task.rng_state);
        let fresh = fresh.map_task(|task| LanguageModeling { rng, ..task });
        fresh.resume(&self.dir, self.saved)
    }

    /// The trained model for inference on `device`.
    pub fn model(&self, device: &Device) -> Result<Gpt, GptError> {
        load_weights(&self.config().model, &self.dir, device)
    }
}
// ANCHOR_END: checkpoint

/// A trained model, its configuration and tokenizer, from a checkpoint directory, for inference on `device`.
pub fn load_checkpoint(dir: &Path, device: &Device) -> Result<(Gpt, RunConfig, Tokenizer), GptError> {
    let run = open_run(dir)?;
    let model = run.model(device)?;
    Ok((model, run.saved.task.config, run.tokenizer))
}

/// The weights in `dir` loaded into a model of `config`; weights of another shape are an error that says so.
pub fn load_weights(config: &GptConfig, dir: &Path, device: &Device) -> Result<Gpt, GptError> {
    Ok(checkpoint::load_model(dir, config.init(device))?)
}
