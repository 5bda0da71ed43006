//! What a pretraining run is made of: the model, the optimiser's settings, the masking recipe, the two presets, and
//! the checks a configuration read from a file must pass.

use std::path::Path;

use common::config::{Checks, InvalidConfig, read_json};
use common::device::layer_activation_floats;
use common::train::WarmupCosine;
use serde::{Deserialize, Serialize};

use crate::config::BertConfig;
use crate::error::BertError;
use crate::masking::MaskingConfig;

// ANCHOR: config
/// How a model is pretrained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingConfig {
    /// The BPE vocabulary learned on the training text (the model's vocabulary adds the five special tokens).
    pub bpe_vocab_size: usize,
    pub batch_size: usize,
    pub max_iters: usize,
    pub learning_rate: f64,
    pub min_lr: f64,
    pub warmup_iters: usize,
    pub weight_decay: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub grad_clip: f64,
    /// Validation every this many steps, and at the end.
    pub eval_interval: usize,
    pub seed: u64,
    pub masking: MaskingConfig,
}

impl TrainingConfig {
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        let m = &self.masking;
        Checks::new("training configuration")
            .at_least("bpe_vocab_size", self.bpe_vocab_size, 256)
            .at_least("batch_size", self.batch_size, 1)
            .at_least("max_iters", self.max_iters, 1)
            .positive("learning_rate", self.learning_rate)
            .floor("min_lr", self.min_lr, "learning_rate", self.learning_rate)
            .non_negative("weight_decay", self.weight_decay)
            .in_range("beta1", self.beta1, 0.0, 1.0)
            .in_range("beta2", self.beta2, 0.0, 1.0)
            .positive("grad_clip", self.grad_clip)
            .at_least("eval_interval", self.eval_interval, 1)
            .in_range("masking.mask_prob", m.mask_prob, 0.0, 1.0)
            .require(
                m.to_mask >= 0.0 && m.to_random >= 0.0 && m.to_mask + m.to_random <= 1.0,
                "masking.to_mask + masking.to_random",
                m.to_mask + m.to_random,
                "two shares in [0, 1] that add up to at most 1",
            )
            .finish()
    }
}

/// A whole run: the model and its training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub model: BertConfig,
    pub training: TrainingConfig,
}

impl RunConfig {
    /// `tiny` (a minute on a laptop's CPU; the tests and the notebook) or `small` (the book's run).
    pub fn named(name: &str) -> Result<Self, BertError> {
        let (bpe_vocab_size, width, layers, heads, max_len, batch_size, max_iters) = match name {
            "tiny" => (512, 64, 2, 2, 64, 32, 600),
            "small" => (2048, 128, 4, 4, 128, 32, 1500),
            other => return Err(BertError::UnknownPreset(other.to_string())),
        };
        let config = RunConfig {
            model: BertConfig::new(bpe_vocab_size + 5, width, layers, heads, max_len).with_dropout(0.1),
            training: TrainingConfig {
                bpe_vocab_size,
                batch_size,
                max_iters,
                learning_rate: 1e-3,
                min_lr: 1e-4,
                warmup_iters: max_iters / 20,
                weight_decay: 0.01,
                beta1: 0.9,
                beta2: 0.999,
                grad_clip: 1.0,
                eval_interval: max_iters / 6,
                seed: 1,
                masking: MaskingConfig::new(),
            },
        };
        config.validate()?;
        Ok(config)
    }

    /// About how many bytes a training step holds at its peak, in float32: the parameters four times over
    /// (weights, gradients, AdamW's two moments), and what each layer keeps for the backward pass at every
    /// position of a batch ([`layer_activation_floats`]). An estimate: for the `small` preset it says 0.3 GB where
    /// a run's process peaks at 0.5 to 0.6 GB.
    pub fn training_memory_bytes(&self) -> u64 {
        let m = &self.model;
        let parameters = (m.num_encoder_params() + m.num_mlm_head_params()) as u64;
        let t = m.max_position_embeddings;
        let per_position = layer_activation_floats(m.hidden_size, m.intermediate_size, m.num_attention_heads, t);
        let positions = self.training.batch_size as u64 * t as u64;
        let activations = (m.num_hidden_layers as u64)
            .saturating_mul(positions)
            .saturating_mul(per_position);
        activations.saturating_add(4 * parameters).saturating_mul(4)
    }

    /// A preset ([`RunConfig::named`]) or, when `name` is a file, the configuration it holds as JSON, checked.
    pub fn named_or_read(name: &str) -> Result<Self, BertError> {
        let path = Path::new(name);
        if path.is_dir() {
            return Err(BertError::ConfigIsDirectory(path.to_path_buf()));
        }
        if !path.is_file() {
            return Self::named(name);
        }
        let config: RunConfig = read_json(path, "RunConfig (start from a preset's JSON)")?;
        config.validate()?;
        Ok(config)
    }

    /// The model's and the training's checks, and that the model's vocabulary is the BPE's with the five special
    /// tokens.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        self.model.validate()?;
        self.training.validate()?;
        let bpe = self.training.bpe_vocab_size;
        Checks::new("run configuration")
            .require(
                self.model.vocab_size == bpe + 5,
                "model.vocab_size",
                self.model.vocab_size,
                &format!("bpe_vocab_size + 5 = {} (the BPE and five special tokens)", bpe + 5),
            )
            .at_least("model.max_position_embeddings", self.model.max_position_embeddings, 3)
            .finish()
    }

    pub fn schedule(&self) -> WarmupCosine {
        let t = &self.training;
        WarmupCosine {
            peak: t.learning_rate,
            floor: t.min_lr,
            warmup_steps: t.warmup_iters,
            decay_end: t.max_iters,
        }
    }
}
// ANCHOR_END: config
