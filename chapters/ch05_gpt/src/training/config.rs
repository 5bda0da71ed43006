//! What a run is made of: the model's and the training's configurations, nanoGPT's presets, and the learning-rate
//! schedule they give.

use burn::prelude::*;
use common::config::{Checks, InvalidConfig};
use common::device::layer_activation_floats;
use common::train::{Keep, Plan, WarmupCosine};

use crate::GptError;
use crate::data::TokenizerKind;
use crate::model::GptConfig;

// ANCHOR: config
/// The optimisation knobs of nanoGPT's `train.py`, with the defaults of its CPU "baby" Shakespeare run.
#[derive(Config, Debug, PartialEq)]
pub struct TrainingConfig {
    #[config(default = 2000)]
    pub max_iters: usize,
    #[config(default = 12)]
    pub batch_size: usize,
    /// The peak learning rate, reached at the end of the warm-up.
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// Where the cosine decay ends.
    #[config(default = 1e-4)]
    pub min_lr: f64,
    #[config(default = 100)]
    pub warmup_iters: usize,
    #[config(default = 2000)]
    pub lr_decay_iters: usize,
    /// AdamW's decoupled weight decay, applied to weight matrices and embeddings only.
    #[config(default = 0.1)]
    pub weight_decay: f64,
    #[config(default = 0.9)]
    pub beta1: f64,
    /// 0.99 rather than Adam's 0.999: with few tokens per step, a shorter memory of the gradient's scale.
    #[config(default = 0.99)]
    pub beta2: f64,
    /// Gradients are rescaled so that their global L2 norm is at most this.
    #[config(default = 1.0)]
    pub grad_clip: f64,
    /// Estimate both losses (and save a checkpoint) every this many steps, and after the last.
    #[config(default = 250)]
    pub eval_interval: usize,
    /// Batches per loss estimate.
    #[config(default = 20)]
    pub eval_iters: usize,
    #[config(default = 1337)]
    pub seed: u64,
}

/// Everything a run is made from: the model, its training, and the tokenizer to build.
#[derive(Config, Debug, PartialEq)]
pub struct RunConfig {
    pub model: GptConfig,
    pub training: TrainingConfig,
    #[config(default = "TokenizerKind::Char")]
    pub tokenizer: TokenizerKind,
}
// ANCHOR_END: config

// ANCHOR: presets
impl RunConfig {
    /// nanoGPT's CPU run on Tiny Shakespeare: `--block_size=64 --batch_size=12 --n_layer=4 --n_head=4 --n_embd=128
    /// --max_iters=2000 --lr_decay_iters=2000 --dropout=0.0`, learning rate 1e-3 to 1e-4, 100 warm-up steps,
    /// beta2 0.99, 20 batches per loss estimate. Val loss about 1.88 in a few minutes on a laptop CPU.
    pub fn baby(vocab_size: usize) -> Self {
        RunConfig::new(GptConfig::new(vocab_size), TrainingConfig::new())
    }

    /// nanoGPT's GPU Shakespeare run (`config/train_shakespeare_char.py`): 6 layers, 6 heads, 384 wide, block
    /// 256, batch 64, dropout 0.2, 5000 steps, 200 batches per loss estimate. Val loss about 1.47.
    pub fn small(vocab_size: usize) -> Self {
        RunConfig::new(
            GptConfig::new(vocab_size)
                .with_block_size(256)
                .with_n_layer(6)
                .with_n_head(6)
                .with_n_embd(384)
                .with_dropout(0.2),
            TrainingConfig::new()
                .with_batch_size(64)
                .with_max_iters(5000)
                .with_lr_decay_iters(5000)
                .with_eval_iters(200),
        )
    }

    /// A model small enough to train in seconds, for tests and smoke runs.
    pub fn tiny(vocab_size: usize) -> Self {
        RunConfig::new(
            GptConfig::new(vocab_size)
                .with_block_size(16)
                .with_n_layer(2)
                .with_n_head(2)
                .with_n_embd(32),
            TrainingConfig::new()
                .with_batch_size(8)
                .with_max_iters(60)
                .with_lr_decay_iters(60)
                .with_warmup_iters(10)
                .with_eval_interval(20)
                .with_eval_iters(4),
        )
    }

    /// A preset by name (`baby`, `small`, `tiny`), or a JSON file written by [`Config::save`]; `vocab_size` comes from
    /// the tokenizer.
    pub fn named(name: &str, vocab_size: usize) -> Result<Self, GptError> {
        let mut config = match name {
            "baby" => Self::baby(vocab_size),
            "small" => Self::small(vocab_size),
            "tiny" => Self::tiny(vocab_size),
            path => RunConfig::load(path).map_err(|e| GptError::UnknownConfig {
                name: path.to_string(),
                message: e.to_string(),
            })?,
        };
        config.model.vocab_size = vocab_size;
        config.validate().map_err(|source| GptError::InvalidConfig {
            origin: format!("--config {name:?}"),
            source,
        })?;
        Ok(config)
    }

    /// About how many bytes a training step holds at its peak, in float32: the parameters four times over
    /// (weights, gradients, AdamW's two moments); what each block keeps for the backward pass at every position
    /// of a batch ([`layer_activation_floats`], with the MLP's hidden layer 4d wide); and the logits three times
    /// over (scores, softmax, gradient), V per position. An estimate, as chapter 6's.
    pub fn training_memory_bytes(&self) -> u64 {
        let m = &self.model;
        let positions = self.training.batch_size as u64 * m.block_size as u64;
        let per_position = layer_activation_floats(m.n_embd, 4 * m.n_embd, m.n_head, m.block_size)
            .saturating_mul(m.n_layer as u64)
            .saturating_add(3 * m.vocab_size as u64);
        positions
            .saturating_mul(per_position)
            .saturating_add(4 * m.num_params() as u64)
            .saturating_mul(4)
    }

    /// Both halves checked ([`GptConfig::validate`], [`TrainingConfig::validate`]), every invalid field named.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        let (model, training) = (self.model.validate(), self.training.validate());
        match (model, training) {
            (Ok(()), Ok(())) => Ok(()),
            (Err(one), Ok(())) | (Ok(()), Err(one)) => Err(one),
            (Err(model), Err(training)) => Err(InvalidConfig {
                what: "run configuration".into(),
                problems: [model.problems, training.problems].concat(),
            }),
        }
    }
}
// ANCHOR_END: presets

/// The longest context a configuration may ask for (GPT-2's is 1,024).
pub const MAX_CONTEXT: usize = 8192;

// ANCHOR: validate
impl GptConfig {
    /// The settings a GPT can be built with: at least one token, position, layer, head and dimension; heads that
    /// split the width evenly (d_h = d / h); dropout a probability below 1 (at 1 nothing would get through).
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        Checks::new("model configuration")
            .at_least("vocab_size", self.vocab_size, 1)
            .at_least("block_size", self.block_size, 1)
            .require(
                self.block_size <= MAX_CONTEXT,
                "block_size",
                self.block_size,
                &format!("at most {MAX_CONTEXT}: attention's memory grows with its square"),
            )
            .at_least("n_layer", self.n_layer, 1)
            .at_least("n_head", self.n_head, 1)
            .at_least("n_embd", self.n_embd, 1)
            .require(
                self.n_head == 0 || self.n_embd.is_multiple_of(self.n_head),
                "n_embd",
                self.n_embd,
                &format!("a multiple of n_head = {}", self.n_head),
            )
            .in_range("dropout", self.dropout, 0.0, 1.0)
            .finish()
    }
}

impl TrainingConfig {
    /// The settings a run can train with: batches and estimates of at least one window, finite positive rates
    /// with the floor below the peak, Adam's betas in [0, 1), a finite non-negative decay, a positive clip.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        Checks::new("training configuration")
            .at_least("batch_size", self.batch_size, 1)
            .positive("learning_rate", self.learning_rate)
            .floor("min_lr", self.min_lr, "learning_rate", self.learning_rate)
            .non_negative("weight_decay", self.weight_decay)
            .in_range("beta1", self.beta1, 0.0, 1.0)
            .in_range("beta2", self.beta2, 0.0, 1.0)
            .positive("grad_clip", self.grad_clip)
            .at_least("eval_interval", self.eval_interval, 1)
            .at_least("eval_iters", self.eval_iters, 1)
            .finish()
    }
}
// ANCHOR_END: validate

// ANCHOR: schedule
impl TrainingConfig {
    /// nanoGPT's `get_lr` with this run's numbers: the kit's warm-up over `warmup_iters` to `learning_rate`, then a
    /// half cosine down to `min_lr` at `lr_decay_iters`, then flat.
    pub fn schedule(&self) -> WarmupCosine {
        WarmupCosine {
            peak: self.learning_rate,
            floor: self.min_lr,
            warmup_steps: self.warmup_iters,
            decay_end: self.lr_decay_iters,
        }
    }

    /// How the kit's loop runs this training: nanoGPT's loss estimates at step 0, every `eval_interval` steps and
    /// at the end, each followed by a checkpoint of the latest model; the losses read every 10 steps (its
    /// `log_interval`); dropout masks drawn from a seed of each step, so that a resumed run draws the same.
    pub fn plan(&self) -> Plan {
        Plan {
            max_steps: self.max_iters,
            schedule: self.schedule(),
            grad_clip: self.grad_clip,
            eval_interval: self.eval_interval,
            evaluate_first: true,
            read_every: 10,
            dropout_seed: Some(self.seed),
            keep: Keep::Latest,
        }
    }
}
// ANCHOR_END: schedule
