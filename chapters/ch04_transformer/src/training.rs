//! Training the translator: teacher forcing with label smoothing, validation every few steps, and the best
//! checkpoint kept on disk. The loop and the machinery every chapter shares (AdamW with decay on matrices only,
//! warm-up then cosine decay, gradient clipping by global norm, the loss history, the progress bar, atomic
//! checkpoints) are the training kit's, [`common::train`]; this chapter gives the loop its [`Translation`] task.

use std::fmt;
use std::path::Path;
use std::time::Instant;

use burn::module::Param;
use burn::optim::AdamWConfig;
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use common::DeviceFailed;
use common::config::{Checks, InvalidConfig};
use common::rng::SplitMix64;
use common::train::checkpoint::{self, CheckpointError};
use common::train::engine::{Saved, read_saved};
use common::train::{Diverged, Keep, LossPoint, Plan, Score, Task, Trainer, WarmupCosine, adamw, progress_bar};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use crate::data::{Batch, Example, PAD};
use crate::model::{Transformer, TransformerConfig};

// ANCHOR: config
/// Configuration of [`train`].
#[derive(Config, Debug)]
pub struct TrainingConfig {
    #[config(default = 3000)]
    pub steps: usize,
    #[config(default = 64)]
    pub batch_size: usize,
    /// The peak learning rate, reached at the end of the warm-up.
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// Where the cosine decay ends.
    #[config(default = 1e-5)]
    pub min_learning_rate: f64,
    #[config(default = 200)]
    pub warmup_steps: usize,
    /// AdamW's decoupled weight decay.
    #[config(default = 0.01)]
    pub weight_decay: f64,
    /// Gradients are rescaled so that their global L2 norm is at most this.
    #[config(default = 1.0)]
    pub max_grad_norm: f64,
    /// ε of label smoothing: the target puts 1 - ε on the right token and spreads
    /// ε evenly over the vocabulary.
    #[config(default = 0.1)]
    pub label_smoothing: f64,
    /// Validate (and maybe checkpoint) every this many steps, and after the last.
    #[config(default = 250)]
    pub eval_every: usize,
    /// Seeds the weights and the order of the batches.
    #[config(default = 0)]
    pub seed: u64,
}
// ANCHOR_END: config

// ANCHOR: schedule
impl TrainingConfig {
    /// The settings a run can train with: at least one step, example and validation interval, finite positive
    /// rates with the floor below the peak, smoothing a probability below 1.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        Checks::new("training configuration")
            .at_least("steps", self.steps, 1)
            .at_least("batch_size", self.batch_size, 1)
            .at_least("eval_every", self.eval_every, 1)
            .positive("learning_rate", self.learning_rate)
            .floor(
                "min_learning_rate",
                self.min_learning_rate,
                "learning_rate",
                self.learning_rate,
            )
            .non_negative("weight_decay", self.weight_decay)
            .positive("max_grad_norm", self.max_grad_norm)
            .in_range("label_smoothing", self.label_smoothing, 0.0, 1.0)
            .finish()
    }

    /// The learning rate over the run: the kit's warm-up over `warmup_steps`, then a half cosine from the peak
    /// down to `min_learning_rate` at the last step.
    pub fn schedule(&self) -> WarmupCosine {
        WarmupCosine {
            peak: self.learning_rate,
            floor: self.min_learning_rate,
            warmup_steps: self.warmup_steps,
            decay_end: self.steps,
        }
    }
}
// ANCHOR_END: schedule

// ANCHOR: loss
/// Cross-entropy with label smoothing, averaged over the target positions that are not padding:
/// L = -(1 - ε) log p_y - ε/V Σ_{k=1}^V log p_k.
///
/// `logits: [batch, t, V]`, `targets: [batch, t]` (PAD where there is nothing to predict).
pub fn smoothed_cross_entropy(logits: Tensor<3>, targets: Tensor<2, Int>, smoothing: f32) -> Tensor<1> {
    let [batch, t, vocab] = logits.dims();
    let log_p = log_softmax(logits.reshape([batch * t, vocab]), 1);
    let targets = targets.reshape([batch * t, 1]);
    let real = targets.clone().not_equal_elem(PAD as i64).float().reshape([batch * t]);
    let nll = log_p.clone().gather(1, targets).reshape([batch * t]).neg(); // -log p_y
    let uniform = log_p.mean_dim(1).reshape([batch * t]).neg(); // -(1/V) sum_k log p_k
    let per_token = nll.mul_scalar(1.0 - smoothing) + uniform.mul_scalar(smoothing);
    (per_token * real.clone()).sum() / real.sum()
}
// ANCHOR_END: loss

/// What [`train`] measured.
#[derive(Debug, Clone)]
pub struct TrainingReport {
    pub history: Vec<LossPoint>,
    pub best_val_loss: f32,
    /// The step after which the best model was taken (from 0).
    pub best_step: usize,
    pub seconds: f64,
}

/// Mean smoothed loss of `model` over `examples`, in batches, with dropout off.
pub fn evaluate_loss(
    model: &Transformer,
    examples: &[Example],
    batch_size: usize,
    smoothing: f32,
    device: &Device,
) -> f32 {
    let (mut total, mut count) = (0.0, 0);
    for chunk in examples.chunks(batch_size) {
        let refs: Vec<&Example> = chunk.iter().collect();
        let batch = Batch::new(&refs, device);
        let loss = smoothed_cross_entropy(model.forward(&batch), batch.tgt_out.clone(), smoothing);
        total += loss.into_scalar::<f32>() * chunk.len() as f32;
        count += chunk.len();
    }
    total / count.max(1) as f32
}

/// Why [`train`] stopped without a model.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    InvalidConfig(#[from] InvalidConfig),
    #[error("training needs at least one training and one validation example")]
    NoExamples,
    #[error(transparent)]
    Diverged(#[from] Diverged),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Device(#[from] DeviceFailed),
}

/// The validation loss after `step` steps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ValLoss {
    pub step: usize,
    pub val_loss: f32,
}

impl fmt::Display for ValLoss {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "validation loss {:.4}", self.val_loss)
    }
}

impl Score for ValLoss {
    fn step(&self) -> usize {
        self.step
    }

    fn val_loss(&self) -> f64 {
        self.val_loss.into()
    }
}

/// What a checkpoint holds besides the weights, the optimizer's state and the run's progress: enough to rebuild
/// the model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    pub model: TransformerConfig,
    pub training: TrainingConfig,
}

/// A checkpoint's `state.json`: the configurations, the step, the history and the evaluations.
pub type CheckpointState = Saved<RunState, ValLoss>;

/// The model with the best validation loss of a run, from the checkpoint directory [`train`] wrote, with what it
/// was trained with. A directory that holds no checkpoint, or weights that do not fit the saved configuration, is
/// an error that says so.
pub fn load_checkpoint(dir: &Path, device: &Device) -> Result<(Transformer, CheckpointState), CheckpointError> {
    let (dir, saved) = read_saved(dir, <Translation as Task>::KIND, |state: &RunState| {
        state.model.validate().and(state.training.validate())
    })?;
    let model = checkpoint::load_model(&dir, saved.task.model.init(device))?;
    Ok((model, saved))
}

// ANCHOR: task
/// Translating number words into digits: what this chapter gives the training kit's loop
/// ([`common::train::engine`]).
pub struct Translation<'a> {
    pub state: RunState,
    pub train: &'a [Example],
    pub val: &'a [Example],
    /// Draws the training examples of each batch.
    rng: SplitMix64,
}

impl Task for Translation<'_> {
    type Model = Transformer;
    type Batch = Batch;
    type Score = ValLoss;
    type State = RunState;
    type Error = TrainError;
    const UNIT: &'static str = "examples";
    const KIND: &'static str = "chapter 4's Transformer (`transformer`)";

    /// `batch_size` random training examples; the decoder reads the target shifted right (teacher forcing).
    fn batch(&mut self, _step: usize, device: &Device) -> Result<Batch, TrainError> {
        let examples: Vec<&Example> = (0..self.state.training.batch_size)
            .map(|_| &self.train[self.rng.below(self.train.len())])
            .collect();
        Ok(Batch::new(&examples, device))
    }

    fn size(&self, batch: &Batch) -> usize {
        batch.tgt_out.dims()[0]
    }

    fn loss(&self, model: &Transformer, batch: Batch) -> Tensor<1> {
        let smoothing = self.state.training.label_smoothing as f32;
        smoothed_cross_entropy(model.forward(&batch), batch.tgt_out.clone(), smoothing)
    }

    fn evaluate(
        &mut self,
        model: &Transformer,
        step: usize,
        _: &[LossPoint],
        device: &Device,
    ) -> Result<ValLoss, TrainError> {
        let smoothing = self.state.training.label_smoothing as f32;
        let val_loss = evaluate_loss(model, self.val, 256, smoothing, device);
        Ok(ValLoss { step, val_loss })
    }

    fn state(&self) -> RunState {
        self.state.clone()
    }
}
// ANCHOR_END: task

// ANCHOR: train
/// Trains a fresh model of `model_config` on `train` examples, validating on `val`. `device` must have autodiff.
/// With `checkpoint`, a directory, the model with the best validation loss so far is kept there (with the
/// optimizer's state and the configuration; see [`load_checkpoint`]). Returns the model at its best validation
/// loss, and the loss history. A loss that is not finite stops the run ([`TrainError::Diverged`]), and a
/// checkpoint that cannot be written stops it too: the run never goes on without the checkpoint it promised.
pub fn train(
    model_config: &TransformerConfig,
    config: &TrainingConfig,
    train: &[Example],
    val: &[Example],
    device: &Device,
    checkpoint: Option<&Path>,
    show_progress: bool,
) -> Result<(Transformer, TrainingReport), TrainError> {
    model_config.validate()?;
    config.validate()?;
    if train.is_empty() || val.is_empty() {
        return Err(TrainError::NoExamples);
    }
    device.seed(config.seed);
    let model = model_config.init(device);
    let optimizer = adamw(
        &AdamWConfig::new().with_weight_decay(config.weight_decay as f32),
        &model,
    );
    // Validation every `eval_every` steps and after the last; the checkpoint keeps the best model; dropout draws
    // from the device's generator as it runs on.
    let plan = Plan {
        max_steps: config.steps,
        schedule: config.schedule(),
        grad_clip: config.max_grad_norm,
        eval_interval: config.eval_every,
        evaluate_first: false,
        read_every: 10,
        dropout_seed: None,
        keep: Keep::Best,
    };
    let task = Translation {
        state: RunState {
            model: model_config.clone(),
            training: config.clone(),
        },
        train,
        val,
        rng: SplitMix64::new(config.seed),
    };
    let mut trainer = Trainer::new(task, model, optimizer, plan, device);
    let progress = if show_progress {
        progress_bar(config.steps, 0)
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    trainer.train(config.steps, checkpoint, show_progress.then_some(&progress))?;
    progress.finish();
    let best = *trainer.best_score().expect("the last step is evaluated");
    let report = TrainingReport {
        history: trainer.history,
        best_val_loss: best.val_loss,
        best_step: best.step - 1,
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((trainer.best.expect("the best model is kept"), report))
}
// ANCHOR_END: train

// ANCHOR: gradient_norms
/// The L2 norm of the loss gradient for each encoder layer's and then each decoder layer's first feed-forward
/// weight matrix W_1, on one batch, for a model on an autodiff device. Xiong et al. (2020) show that at
/// initialisation a post-LN stack has much larger gradients near its output than near its input, so one
/// learning rate is too large for some layers and too small for others, which is why post-LN needs a long
/// warm-up; pre-LN's gradients are about the same size at every depth.
pub fn layer_gradient_norms(model: &Transformer, batch: &Batch) -> (Vec<f32>, Vec<f32>) {
    let loss = smoothed_cross_entropy(model.forward(batch), batch.tgt_out.clone(), 0.0);
    let grads = loss.backward();
    let norm = |weight: &Param<Tensor<2>>| {
        let grad = weight.val().grad(&grads).expect("every weight takes part in the loss");
        grad.powi_scalar(2).sum().sqrt().into_scalar::<f32>()
    };
    (
        model
            .encoder
            .iter()
            .map(|layer| norm(&layer.feed_forward.linear_1.weight))
            .collect(),
        model
            .decoder
            .iter()
            .map(|layer| norm(&layer.feed_forward.linear_1.weight))
            .collect(),
    )
}
// ANCHOR_END: gradient_norms

/// The decoder's [`layer_gradient_norms`] for a freshly initialised 2 + `n_decoder_layers` model of width 64 with
/// the norm at `position`, averaged over `seeds` initialisations, on one batch of 64 random training examples.
/// `device` must have autodiff.
pub fn decoder_gradient_profile(
    position: crate::NormPosition,
    n_decoder_layers: usize,
    seeds: u64,
    device: &Device,
) -> Vec<f32> {
    let examples = crate::data::Splits::generate(1, 64, 0, 0).train;
    let batch = Batch::new(&examples.iter().collect::<Vec<_>>(), device);
    let mut total = vec![0.0; n_decoder_layers];
    for seed in 0..seeds {
        device.seed(seed);
        let model = TransformerConfig::new(
            crate::data::Vocabulary::words().len(),
            crate::data::Vocabulary::digits().len(),
            16,
        )
        .with_d_model(64)
        .with_d_ff(256)
        .with_n_encoder_layers(2)
        .with_n_decoder_layers(n_decoder_layers)
        .with_dropout(0.0)
        .with_norm_position(position)
        .init(device);
        for (sum, norm) in total.iter_mut().zip(layer_gradient_norms(&model, &batch).1) {
            *sum += norm / seeds as f32;
        }
    }
    total
}
