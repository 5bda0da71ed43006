//! A training loop to read from top to bottom: teacher forcing with label smoothing, validation every few steps,
//! and the best checkpoint kept on disk. The machinery every chapter shares (AdamW with decay on matrices only,
//! warm-up then cosine decay, gradient clipping by global norm, the loss history, the progress bar, atomic
//! checkpoints) is the training kit's, [`common::train`].

use std::path::Path;
use std::time::Instant;

use burn::module::Param;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use common::config::{Checks, InvalidConfig};
use common::rng::SplitMix64;
use common::train::checkpoint::{self, CheckpointError};
use common::train::{Diverged, LossPoint, WarmupCosine, adamw, check_finite, clip_global_norm, progress_bar};
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
    pub weight_decay: f32,
    /// Gradients are rescaled so that their global L2 norm is at most this.
    #[config(default = 1.0)]
    pub max_grad_norm: f32,
    /// ε of label smoothing: the target puts 1 - ε on the right token and spreads
    /// ε evenly over the vocabulary.
    #[config(default = 0.1)]
    pub label_smoothing: f32,
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
            .non_negative("weight_decay", self.weight_decay.into())
            .positive("max_grad_norm", self.max_grad_norm.into())
            .in_range("label_smoothing", self.label_smoothing.into(), 0.0, 1.0)
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
}

/// What a checkpoint holds besides the weights and the optimizer's state: enough to rebuild the model and to say
/// where in its run it was taken.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointState {
    pub model: TransformerConfig,
    pub training: TrainingConfig,
    /// The step after which it was saved (from 0).
    pub step: usize,
    pub val_loss: f32,
}

/// The model with the best validation loss of a run, from the checkpoint directory [`train`] wrote, with what it
/// was trained with. A directory that holds no checkpoint, or weights that do not fit the saved configuration, is
/// an error that says so.
pub fn load_checkpoint(dir: &Path, device: &Device) -> Result<(Transformer, CheckpointState), CheckpointError> {
    let dir = checkpoint::find(dir)?;
    let state: CheckpointState = checkpoint::read_valid_state(&dir, |state: &CheckpointState| {
        state.model.validate().and(state.training.validate())
    })?;
    let model = checkpoint::load_model(&dir, state.model.init(device))?;
    Ok((model, state))
}

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
    let mut model = model_config.init(device);
    let mut optimizer = adamw(&AdamWConfig::new().with_weight_decay(config.weight_decay), &model);
    let schedule = config.schedule();
    let mut rng = SplitMix64::new(config.seed);
    let progress = if show_progress {
        progress_bar(config.steps, 0)
    } else {
        ProgressBar::hidden()
    };
    let (mut history, mut best) = (Vec::new(), (f32::INFINITY, 0, model.valid()));
    let started = Instant::now();

    for step in 0..config.steps {
        // A batch of random training examples; the decoder reads the target shifted right (teacher forcing).
        let examples: Vec<&Example> = (0..config.batch_size).map(|_| &train[rng.below(train.len())]).collect();
        let batch = Batch::new(&examples, device);
        let loss = smoothed_cross_entropy(model.forward(&batch), batch.tgt_out.clone(), config.label_smoothing);
        let train_loss = check_finite(step, loss.clone().into_scalar::<f32>())?;

        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let (grads, _norm) = clip_global_norm(&model, grads, config.max_grad_norm);
        let lr = schedule.at(step);
        model = optimizer.step(lr, model, grads);

        let last = step + 1 == config.steps;
        let val_loss = if (step + 1) % config.eval_every == 0 || last {
            let snapshot = model.valid();
            let val_loss = evaluate_loss(&snapshot, val, 256, config.label_smoothing, &device.clone().inner());
            check_finite(step, val_loss)?;
            if val_loss < best.0 {
                if let Some(dir) = checkpoint {
                    let state = CheckpointState {
                        model: model_config.clone(),
                        training: config.clone(),
                        step,
                        val_loss,
                    };
                    checkpoint::save(dir, &snapshot, &optimizer, &state, &[])?;
                }
                best = (val_loss, step, snapshot);
            }
            if show_progress {
                progress.suspend(|| {
                    eprintln!(
                        "step {:>6}: train loss {train_loss:.4}, validation loss {val_loss:.4}",
                        step + 1
                    )
                });
            }
            Some(val_loss)
        } else {
            None
        };
        history.push(LossPoint {
            step,
            train_loss,
            val_loss,
            learning_rate: lr,
        });
        progress.set_message(format!("loss {train_loss:.3}, best val {:.3}", best.0));
        progress.inc(1);
    }
    progress.finish();
    let report = TrainingReport {
        history,
        best_val_loss: best.0,
        best_step: best.1,
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((best.2, report))
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
