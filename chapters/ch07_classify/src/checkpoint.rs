//! A fine-tuned classifier on disk: the kit's checkpoint (weights, optimizer, a JSON state), written by the training
//! loop, with what rebuilds the model (backbone, architecture, pooling) and its tokenizer beside it.

use std::path::Path;

use burn::prelude::*;
use common::data::sha256_hex;
use common::train::checkpoint;
use common::train::engine::read_saved_state;
use common::train::{Saved, Task};
use serde::{Deserialize, Serialize};

use crate::ClassifyError;
use crate::backbones::{Architecture, BackboneKind, TextEncoder};
use crate::model::{Classifier, Pooling};
use crate::training::{EpochScores, FineTuneConfig, FineTuning};

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
    /// The SHA-256 of the tokenizer's file, so that a tokenizer from another checkpoint is caught when loaded (a
    /// checkpoint written before it has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer_sha256: Option<String>,
}

/// The classifier saved in the run directory or checkpoint `path` (by [`crate::training::fine_tune`]), its
/// tokenizer and its state. A directory that holds another kind of checkpoint (a pretraining run's) is an error
/// saying so.
pub fn load(path: &Path, device: &Device) -> Result<(Classifier, TextEncoder, ClassifierState), ClassifyError> {
    let dir = checkpoint::find(path)?;
    let saved: Saved<ClassifierState, EpochScores> =
        read_saved_state(&dir, FineTuning::KIND).map_err(|e| ClassifyError::NotAClassifier {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    let state = saved.task;
    let spec = &state.classifier;
    let inconsistent = |file: &str, message: String| ClassifyError::Inconsistent {
        path: dir.join(file),
        message,
    };
    let kind_fits = matches!(
        (spec.backbone, &spec.architecture),
        (BackboneKind::Gpt, Architecture::Gpt(_))
            | (
                BackboneKind::Bert | BackboneKind::Minilm | BackboneKind::Scratch,
                Architecture::Bert(_)
            )
    );
    if !kind_fits {
        let message = format!(
            "it names a {} backbone with another kind's architecture",
            spec.backbone.name()
        );
        return Err(inconsistent(checkpoint::STATE_FILE, message));
    }
    let bytes = checkpoint::read_file(&dir, TOKENIZER_FILE)?;
    if state
        .tokenizer_sha256
        .as_ref()
        .is_some_and(|sha256| *sha256 != sha256_hex(&bytes))
    {
        let message = "it is not the tokenizer this classifier was trained with (its SHA-256 is not the one \
                       state.json records)";
        return Err(inconsistent(TOKENIZER_FILE, message.to_string()));
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let encoder = TextEncoder::from_file(spec.backbone, &text, &dir.join(TOKENIZER_FILE))?;
    let width = spec.architecture.size().width;
    let fresh = Classifier::new(spec.architecture.init(device), width, spec.pooling, 0.0, device);
    let model = checkpoint::load_model(&dir, fresh)?;
    Ok((model, encoder, state))
}
