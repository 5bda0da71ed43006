//! Checkpoints of a run: the kit's atomic checkpoint directory ([`common::train::checkpoint`]) holding the model,
//! the optimizer's state, everything else a [`Trainer`] needs to continue exactly (step, batch generator, history,
//! configuration), and the tokenizer.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use common::rng::SplitMix64;
use common::train::checkpoint;
use serde::{Deserialize, Serialize};

use super::{Evaluation, RunConfig, Trainer, optimizer};
use crate::GptError;
use crate::data::Tokenizer;
use crate::model::{Gpt, GptConfig};
use common::train::LossPoint;

/// What a checkpoint's `state.json` holds besides the weights.
#[derive(Serialize, Deserialize)]
struct TrainerState {
    config: RunConfig,
    step: usize,
    rng_state: u64,
    history: Vec<LossPoint>,
    evaluations: Vec<Evaluation>,
}

impl Trainer {
    // ANCHOR: checkpoint
    /// Writes the model, the optimizer's state, the step, the batch generator, the history, the configuration
    /// and the tokenizer to the directory `dir`, atomically (the kit's [`checkpoint::save`]: a crash mid-write
    /// leaves the previous checkpoint whole).
    pub fn save(&mut self, dir: &Path, tokenizer: &Tokenizer) -> Result<(), GptError> {
        self.read_losses()?;
        let state = TrainerState {
            config: self.config.clone(),
            step: self.step,
            rng_state: self.rng.state(),
            history: self.history.clone(),
            evaluations: self.evaluations.clone(),
        };
        let tokenizer = tokenizer.to_json();
        let extra: [(&str, &[u8]); 1] = [(TOKENIZER_FILE, tokenizer.as_bytes())];
        Ok(checkpoint::save(dir, &self.model, &self.optimizer, &state, &extra)?)
    }

    /// A run saved by [`Trainer::save`], ready to continue on `device` (with autodiff), and its tokenizer.
    pub fn resume(dir: &Path, device: &Device) -> Result<(Self, Tokenizer), GptError> {
        let (found, state, tokenizer) = read_state(dir)?;
        let model = load_weights(&state.config.model, &found, device)?;
        let optimizer = checkpoint::load_optimizer(&found, optimizer(&state.config.training, &model))?;
        let trainer = Trainer {
            config: state.config,
            model,
            optimizer,
            step: state.step,
            rng: SplitMix64::new(state.rng_state),
            history: state.history,
            unread: Vec::new(),
            evaluations: state.evaluations,
            device: device.clone(),
            forward: Gpt::forward,
            shards: 1,
        };
        Ok((trainer, tokenizer))
    }
    // ANCHOR_END: checkpoint
}

/// The tokenizer, saved beside the kit's files.
const TOKENIZER_FILE: &str = "tokenizer.json";

/// A trained model, its configuration and tokenizer, from a checkpoint directory, for inference on `device`.
pub fn load_checkpoint(dir: &Path, device: &Device) -> Result<(Gpt, RunConfig, Tokenizer), GptError> {
    let (dir, state, tokenizer) = read_state(dir)?;
    let model = load_weights(&state.config.model, &dir, device)?;
    Ok((model, state.config, tokenizer))
}

/// The checkpoint directory actually found (see [`checkpoint::find`]), its training state and its tokenizer,
/// checked against each other.
fn read_state(dir: &Path) -> Result<(PathBuf, TrainerState, Tokenizer), GptError> {
    let found = checkpoint::find(dir)?;
    let state: TrainerState = checkpoint::read_valid_state(&found, |state: &TrainerState| state.config.validate())?;
    let tokenizer = checkpoint::read_file(&found, TOKENIZER_FILE)?;
    let tokenizer = Tokenizer::from_json(&String::from_utf8_lossy(&tokenizer), &found.join(TOKENIZER_FILE))?;
    if tokenizer.vocab_size() != state.config.model.vocab_size {
        return Err(GptError::InconsistentCheckpoint {
            dir: found,
            tokenizer: tokenizer.vocab_size(),
            model: state.config.model.vocab_size,
        });
    }
    Ok((found, state, tokenizer))
}

/// The weights in `dir` loaded into a model of `config`; weights of another shape are an error that says so.
pub fn load_weights(config: &GptConfig, dir: &Path, device: &Device) -> Result<Gpt, GptError> {
    Ok(checkpoint::load_model(dir, config.init(device))?)
}
