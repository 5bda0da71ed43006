//! A fine-tuned classifier on disk: the kit's checkpoint (weights, optimizer, a JSON state), written by the training
//! loop, with what rebuilds the model (backbone, architecture, pooling) and its tokenizer beside it.

use std::path::Path;

use burn::prelude::*;
use common::train::Saved;
use common::train::checkpoint;
use serde::{Deserialize, Serialize};

use crate::ClassifyError;
use crate::backbones::{Architecture, BackboneKind, TextEncoder};
use crate::model::{Classifier, Pooling};
use crate::training::{EpochScores, FineTuneConfig};

/// The tokenizer's file in a checkpoint.
pub const TOKENIZER_FILE: &str = "tokenizer.txt";

/// What rebuilds the classifier: with it a checkpoint is read without the backbone's pretraining run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierSpec {
    pub backbone: BackboneKind,
    pub architecture: Architecture,
    pub pooling: Pooling,
    pub max_len: usize,
}

/// What a classifier checkpoint's `state.json` holds besides the run's progress (its step, history and epochs).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassifierState {
    pub classifier: ClassifierSpec,
    pub config: FineTuneConfig,
    pub trainable_params: usize,
}

/// The classifier saved in the run directory or checkpoint `path` (by [`crate::training::fine_tune`]), its
/// tokenizer and its state. A directory that holds another kind of checkpoint (a pretraining run's) is an error
/// saying so.
pub fn load(path: &Path, device: &Device) -> Result<(Classifier, TextEncoder, ClassifierState), ClassifyError> {
    let dir = checkpoint::find(path)?;
    let saved: Saved<ClassifierState, EpochScores> = checkpoint::read_state::<serde_json::Value>(&dir)
        .and_then(|value| {
            serde_json::from_value(value).map_err(|e| common::train::CheckpointError::Corrupt {
                path: dir.join(checkpoint::STATE_FILE),
                what: "classifier state",
                message: e.to_string(),
            })
        })
        .map_err(|e| ClassifyError::NotAClassifier {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    let state = saved.task;
    let spec = &state.classifier;
    let text = String::from_utf8_lossy(&checkpoint::read_file(&dir, TOKENIZER_FILE)?).into_owned();
    let encoder = TextEncoder::from_file(spec.backbone, &text, &dir.join(TOKENIZER_FILE))?;
    let width = spec.architecture.size().width;
    let fresh = Classifier::new(spec.architecture.init(device), width, spec.pooling, 0.0, device);
    let model = checkpoint::load_model(&dir, fresh)?;
    Ok((model, encoder, state))
}
