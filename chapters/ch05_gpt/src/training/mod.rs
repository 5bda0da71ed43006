//! Causal pretraining as nanoGPT's `train.py` does it: random windows, AdamW with weight decay on the weight
//! matrices only, warm-up then cosine decay, gradient clipping, loss estimates on both splits every few steps, and
//! checkpoints a run can be resumed from. The shared parts (schedule, optimiser, clipping, history, progress bar,
//! atomic checkpoints) come from the training kit, [`common::train`].
//!
//! The files: [`config`] (what a run is made of, nanoGPT's presets, the schedule), this one (the loss, the
//! optimiser, the [`Trainer`]'s steps, estimates and loop), [`checkpoint`] (saving and resuming), [`device`]
//! (reading losses back, device failures).

pub mod checkpoint;
pub mod config;
mod device;

use std::path::Path;
use std::time::Instant;

use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use common::rng::SplitMix64;
use common::train::history::progress_message;
use common::train::{LossPoint, adamw, check_finite, clip_global_norm};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use crate::GptError;
use crate::data::{TokenSplits, Tokenizer, check_window_fits, random_windows, windows_at};
use crate::model::Gpt;
pub use checkpoint::{load_checkpoint, load_weights};
pub use config::{RunConfig, TrainingConfig};
use device::read_scalars;

/// How a model turns token ids into logits: [`Gpt::forward`], or the same computed another way (`gpt::fast`).
pub type Forward = fn(&Gpt, Tensor<2, Int>) -> Tensor<3>;

// ANCHOR: loss
/// The language-modelling loss: mean over all B × T positions of -log p(y_t | x_{≤t}).
/// At initialisation every token is about equally likely, so it starts near ln V.
pub fn cross_entropy(logits: Tensor<3>, targets: Tensor<2, Int>) -> Tensor<1> {
    let [batch, t, vocab] = logits.dims();
    let log_p = log_softmax(logits.reshape([batch * t, vocab]), 1);
    log_p.gather(1, targets.reshape([batch * t, 1])).mean().neg()
}
// ANCHOR_END: loss

// ANCHOR: optimizer
/// nanoGPT's AdamW for `model`: the kit's [`adamw`], which decays the 2-D parameters (weight matrices,
/// embeddings) and not the 1-D ones (biases, layer-norm gains and shifts), with β_2 = 0.99 and
/// ε = 10⁻⁸.
pub fn optimizer(config: &TrainingConfig, model: &Gpt) -> ModuleOptimizer {
    let config = AdamWConfig::new()
        .with_beta_1(config.beta1)
        .with_beta_2(config.beta2)
        .with_epsilon(1e-8)
        .with_weight_decay(config.weight_decay);
    adamw(&config, model)
}
// ANCHOR_END: optimizer

/// Mean loss of both splits at one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub step: usize,
    pub train_loss: f32,
    pub val_loss: f32,
}

/// A training run in progress: the model, the optimizer's moments, and where the batches come from. Everything in
/// it is in a checkpoint, so a resumed run continues exactly where the saved one stood.
pub struct Trainer {
    pub config: RunConfig,
    pub model: Gpt,
    optimizer: ModuleOptimizer,
    /// Steps done so far.
    pub step: usize,
    rng: SplitMix64,
    /// The batch loss and learning rate of every step read so far (see [`Trainer::read_losses`]); validation loss
    /// at evaluations.
    pub history: Vec<LossPoint>,
    /// Step, learning rate and loss of the steps whose losses are still on the device.
    unread: Vec<(usize, f64, Tensor<1>)>,
    pub evaluations: Vec<Evaluation>,
    device: Device,
    /// How the model computes its logits ([`Gpt::forward`] unless [`Trainer::with_forward`]).
    forward: Forward,
    /// Slices of each batch processed at once (one unless [`Trainer::with_shards`]).
    shards: usize,
}

/// How often [`Trainer::train`] reads the losses from the device (nanoGPT's `log_interval`).
const READ_LOSSES_EVERY: usize = 10;

/// A seed for the device's generator at `step`: dropout masks then depend on the step alone, not on how many
/// random numbers were drawn before, so a resumed run draws the masks the uninterrupted run drew.
fn step_seed(seed: u64, step: usize) -> u64 {
    SplitMix64::new(seed ^ (step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)).next_u64()
}

impl Trainer {
    /// A fresh model of `config.model` on `device`, which must have autodiff (`Device::flex().autodiff()`).
    ///
    /// # Panics
    /// If `config` is invalid: check one read from a file with [`RunConfig::validate`] first, as
    /// [`RunConfig::named`] and the checkpoint loader do.
    pub fn new(config: RunConfig, device: &Device) -> Self {
        if let Err(invalid) = config.validate() {
            panic!("Trainer::new: {invalid}");
        }
        device.seed(config.training.seed);
        let model = config.model.init(device);
        Trainer {
            optimizer: optimizer(&config.training, &model),
            model,
            step: 0,
            rng: SplitMix64::new(config.training.seed),
            history: Vec::new(),
            unread: Vec::new(),
            evaluations: Vec::new(),
            device: device.clone(),
            forward: Gpt::forward,
            shards: 1,
            config,
        }
    }

    /// Computes the model's logits with `forward` (the same model computed another way, as `gpt::fast::forward`).
    pub fn with_forward(mut self, forward: Forward) -> Self {
        self.forward = forward;
        self
    }

    /// Splits each batch into `shards` slices, each computed by its own thread (at most one per sequence), with the
    /// appendix's [`cpu_speed::data_parallel::batch_gradients`]: use as many as the CPU has cores, and 1 on a GPU,
    /// which is parallel within each operation already. The losses are those of one pass up to rounding. With
    /// dropout, the slices draw their masks from the device's one generator in whatever order their threads come
    /// to it: such a run is no longer reproducible bit for bit.
    #[cfg(feature = "fast")]
    pub fn with_shards(mut self, shards: usize) -> Self {
        self.shards = shards.clamp(1, self.config.training.batch_size);
        self
    }

    pub fn shards(&self) -> usize {
        self.shards
    }

    // ANCHOR: step
    /// One optimisation step on a random batch; returns its loss, still on the device.
    pub fn train_step(&mut self, data: &TokenSplits) -> Tensor<1> {
        let (model_config, config) = (&self.config.model, &self.config.training);
        self.device.seed(step_seed(config.seed, self.step));
        let (x, y) = random_windows(
            &data.train,
            config.batch_size,
            model_config.block_size,
            &mut self.rng,
            &self.device,
        );
        self.train_step_on(x, y)
    }

    /// One optimisation step on the batch `x` (token ids `[batch, t]`) with targets `y`; returns its loss, still on
    /// the device. Nothing in a step waits for the device, so a GPU can run one step while the program prepares
    /// the next; reading a loss (`into_scalar`, [`Trainer::read_losses`]) waits.
    pub fn train_step_on(&mut self, x: Tensor<2, Int>, y: Tensor<2, Int>) -> Tensor<1> {
        let config = &self.config.training;
        let (loss, grads) = self.gradients(x, y);
        let (grads, _norm) = clip_global_norm(&self.model, grads, config.grad_clip);
        let lr = config.schedule().at(self.step);
        self.model = self.optimizer.step(lr, self.model.clone(), grads);
        self.unread.push((self.step, lr, loss.clone()));
        self.step += 1;
        loss
    }

    /// The batch's loss (still on the device) and the gradient of every parameter.
    fn gradients(&self, x: Tensor<2, Int>, y: Tensor<2, Int>) -> (Tensor<1>, GradientsParams) {
        let forward = self.forward;
        let loss_of = move |model: &Gpt, x, y| cross_entropy(forward(model, x), y);
        #[cfg(feature = "fast")]
        if self.shards > 1 {
            return cpu_speed::data_parallel::batch_gradients(&self.model, x, y, self.shards, loss_of);
        }
        let loss = loss_of(&self.model, x, y);
        (
            loss.clone().inner(),
            GradientsParams::from_grads(loss.backward(), &self.model),
        )
    }
    // ANCHOR_END: step

    /// `f` applied to each of `items` (batches to evaluate), in order; with several shards, on as many threads.
    fn map_batches<T: Send, R: Send>(&self, items: Vec<T>, f: impl Fn(T) -> R + Send + Sync) -> Vec<R> {
        #[cfg(feature = "fast")]
        return cpu_speed::data_parallel::map_in_order(items, self.shards > 1, f);
        #[cfg(not(feature = "fast"))]
        items.into_iter().map(f).collect()
    }

    /// Brings the losses of the steps since the last read from the device into `history`, in one transfer (one wait
    /// for the device), and returns the latest step's loss. A loss that is not finite is a
    /// [`Diverged`](common::train::Diverged) error: the history keeps the steps before it, and the caller stops.
    pub fn read_losses(&mut self) -> Result<Option<f32>, GptError> {
        if !self.unread.is_empty() {
            let (steps, losses): (Vec<_>, Vec<_>) =
                self.unread.drain(..).map(|(step, lr, loss)| ((step, lr), loss)).unzip();
            for ((step, learning_rate), train_loss) in steps.into_iter().zip(read_scalars(losses)?) {
                self.history.push(LossPoint {
                    step,
                    train_loss: check_finite(step, train_loss)?,
                    val_loss: None,
                    learning_rate,
                });
            }
        }
        Ok(self.history.last().map(|point| point.train_loss))
    }

    /// nanoGPT's `estimate_loss`: the mean loss over `eval_iters` random batches of each split, with dropout off.
    /// Its batches come from a generator of their own, so evaluating never changes the training batches.
    pub fn evaluate(&mut self, data: &TokenSplits) -> Result<Evaluation, GptError> {
        data.check_windows_fit(self.config.model.block_size)?;
        self.read_losses()?;
        let (model_config, config) = (&self.config.model, &self.config.training);
        let model = self.model.valid();
        let device = self.device.clone().inner();
        let mut rng = SplitMix64::new(step_seed(config.seed.wrapping_add(1), self.step));
        let forward = self.forward;
        let mut mean_loss = |ids: &[u32]| {
            let batches: Vec<_> = (0..config.eval_iters)
                .map(|_| random_windows(ids, config.batch_size, model_config.block_size, &mut rng, &device))
                .collect();
            // The batches are independent: with several shards, as many threads share them. Their losses are read
            // from the device together, in one wait.
            let losses = self.map_batches(batches, |(x, y)| cross_entropy(forward(&model, x), y));
            let mean = read_scalars(losses)?.iter().sum::<f32>() / config.eval_iters as f32;
            Ok::<_, GptError>(check_finite(self.step, mean)?)
        };
        let evaluation = Evaluation {
            step: self.step,
            train_loss: mean_loss(&data.train)?,
            val_loss: mean_loss(&data.val)?,
        };
        if let Some(point) = self.history.last_mut().filter(|p| p.step + 1 == self.step) {
            point.val_loss = Some(evaluation.val_loss);
        }
        self.evaluations.push(evaluation);
        Ok(evaluation)
    }

    // ANCHOR: whole_split
    /// The mean loss over every window of `block_size` tokens that tiles `ids` end to end, ⌊(N - 1) / T⌋ of
    /// them (a tail too short for one is left out), with dropout off: the split's loss without the
    /// sampling noise of [`Trainer::evaluate`]'s estimate (about 0.01 for nanoGPT's 20 batches), so two runs can be
    /// compared on it. Computed `batch_size` windows at a time, on as many threads as the trainer has shards.
    pub fn whole_split_loss(&self, ids: &[u32]) -> Result<f64, GptError> {
        let (block_size, batch_size) = (self.config.model.block_size, self.config.training.batch_size.max(1));
        check_window_fits("the split", ids, block_size)?;
        let windows = (ids.len() - 1) / block_size;
        let starts: Vec<usize> = (0..windows).map(|i| i * block_size).collect();
        let model = self.model.valid();
        let device = self.device.clone().inner();
        let batches: Vec<_> = starts
            .chunks(batch_size)
            .map(|starts| windows_at(ids, starts, block_size, &device))
            .collect();
        // Each batch's mean loss times its windows: their sum over all batches is the sum over all windows.
        let forward = self.forward;
        let sums = self.map_batches(batches, |(x, y)| {
            let count = x.dims()[0] as f32;
            cross_entropy(forward(&model, x), y).mul_scalar(count)
        });
        let total: f64 = read_scalars(sums)?.into_iter().map(f64::from).sum();
        Ok(total / windows as f64)
    }
    // ANCHOR_END: whole_split

    // ANCHOR: train
    /// Trains until step `until` (at most `max_iters`), estimating the losses at step 0, every `eval_interval`
    /// steps and at `max_iters`, and saving a checkpoint to `checkpoint` after each estimate. With `progress`,
    /// shows the run there and prints each estimate.
    pub fn train(
        &mut self,
        data: &TokenSplits,
        until: usize,
        checkpoint: Option<(&Path, &Tokenizer)>,
        progress: Option<&ProgressBar>,
    ) -> Result<(), GptError> {
        data.check_windows_fit(self.config.model.block_size)?;
        let (hidden, show) = (ProgressBar::hidden(), progress.is_some());
        let progress = progress.unwrap_or(&hidden);
        let config = self.config.training.clone();
        let tokens_per_step = (config.batch_size * self.config.model.block_size) as f64;
        let until = until.min(config.max_iters);
        let started = Instant::now();
        let first_step = self.step;
        while self.step <= until {
            let at_end = self.step == config.max_iters;
            let evaluated = self.evaluations.last().is_some_and(|e| e.step == self.step);
            if (self.step.is_multiple_of(config.eval_interval) || at_end) && !evaluated {
                let e = self.evaluate(data)?;
                if show {
                    // Printed past the bar, so that the estimates also reach a log when stderr is not a terminal.
                    progress.suspend(|| {
                        eprintln!(
                            "step {:>5}: train loss {:.4}, val loss {:.4} (perplexity {:.2})",
                            e.step,
                            e.train_loss,
                            e.val_loss,
                            e.val_loss.exp()
                        )
                    });
                }
                if let Some((dir, tokenizer)) = checkpoint {
                    self.save(dir, tokenizer)?;
                }
            }
            if self.step == until {
                break;
            }
            self.train_step(data);
            progress.set_position(self.step as u64);
            // Reading a loss waits for the device; as nanoGPT's `log_interval`, read them every few steps only.
            if self.step.is_multiple_of(READ_LOSSES_EVERY) {
                let loss = self.read_losses()?.unwrap_or(f32::NAN);
                let seconds = started.elapsed().as_secs_f64();
                let tokens_per_second = (self.step - first_step) as f64 * tokens_per_step / seconds;
                progress.set_message(progress_message(loss, tokens_per_second, "tokens"));
            }
        }
        self.read_losses()?;
        Ok(())
    }
    // ANCHOR_END: train
}
