//! Causal pretraining as nanoGPT's `train.py` does it: random windows, AdamW with weight decay on the weight
//! matrices only, warm-up then cosine decay, gradient clipping, loss estimates on both splits every few steps, and
//! checkpoints a run can be resumed from. The loop itself is the training kit's ([`common::train::engine`]); this
//! chapter gives it [`LanguageModeling`]: the batches, the loss, the evaluation.
//!
//! The files: [`config`] (what a run is made of, nanoGPT's presets, the schedule), this one (the loss, the
//! optimiser, the task), [`checkpoint`] (reading a saved run back).

pub mod checkpoint;
pub mod config;

use std::fmt;

use burn::optim::{AdamWConfig, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use common::device::read_scalars;
use common::rng::SplitMix64;
use common::train::{LossPoint, Task, adamw, check_finite, engine, step_seed};
use serde::{Deserialize, Serialize};

use crate::GptError;
use crate::data::{TokenSplits, Tokenizer, check_window_fits, random_windows, windows_at};
use crate::model::Gpt;
pub use checkpoint::{SavedRun, load_checkpoint, load_weights, open_run};
pub use config::{RunConfig, TrainingConfig};

/// A run of chapter 5: the kit's loop on [`LanguageModeling`].
pub type Trainer = engine::Trainer<LanguageModeling>;

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
        .with_beta_1(config.beta1 as f32)
        .with_beta_2(config.beta2 as f32)
        .with_epsilon(1e-8)
        .with_weight_decay(config.weight_decay as f32);
    adamw(&config, model)
}
// ANCHOR_END: optimizer

/// Token ids `[batch, t]` and their targets, the same windows one token further on.
pub type Windows = (Tensor<2, Int>, Tensor<2, Int>);

/// Mean loss of both splits at one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub step: usize,
    pub train_loss: f32,
    pub val_loss: f32,
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "train loss {:.4}, val loss {:.4} (perplexity {:.2})",
            self.train_loss,
            self.val_loss,
            self.val_loss.exp()
        )
    }
}

impl engine::Score for Evaluation {
    fn step(&self) -> usize {
        self.step
    }

    fn val_loss(&self) -> f64 {
        self.val_loss.into()
    }
}

// ANCHOR: task
/// Next-token prediction on a corpus: what chapter 5 gives the kit's loop.
pub struct LanguageModeling {
    pub config: RunConfig,
    pub data: TokenSplits,
    pub tokenizer: Tokenizer,
    /// Draws the training windows; saved in checkpoints, so that a resumed run draws the windows the
    /// uninterrupted run drew.
    rng: SplitMix64,
}

impl Task for LanguageModeling {
    type Model = Gpt;
    type Batch = Windows;
    type Score = Evaluation;
    type State = RunState;
    type Error = GptError;
    const UNIT: &'static str = "tokens";
    const KIND: &'static str = "chapter 5's GPT (`gpt train`)";

    /// `batch_size` windows of `block_size` tokens at random places of the training split.
    fn batch(&mut self, _step: usize, device: &Device) -> Result<Windows, GptError> {
        let (batch_size, block_size) = (self.config.training.batch_size, self.config.model.block_size);
        Ok(random_windows(
            &self.data.train,
            batch_size,
            block_size,
            &mut self.rng,
            device,
        ))
    }

    fn size(&self, (x, _): &Windows) -> usize {
        x.dims().iter().product()
    }

    fn loss(&self, model: &Gpt, (x, y): Windows) -> Tensor<1> {
        cross_entropy(model.forward(x), y)
    }

    fn evaluate(&mut self, model: &Gpt, step: usize, _: &[LossPoint], device: &Device) -> Result<Evaluation, GptError> {
        self.estimate_loss(step, device, |windows| self.window_losses(model, windows))
    }

    fn state(&self) -> RunState {
        RunState {
            config: self.config.clone(),
            rng_state: self.rng.state(),
        }
    }

    fn files(&self) -> Vec<(&'static str, Vec<u8>)> {
        vec![(checkpoint::TOKENIZER_FILE, self.tokenizer.to_json().into_bytes())]
    }
}
// ANCHOR_END: task

/// The mean loss of each of many batches of windows, for the evaluations. Chapter 5 computes them one after another
/// with its own code; the appendix's task computes them with its kernels, on every core.
pub trait WindowLosses: Task<Model = Gpt, Batch = Windows, Score = Evaluation, Error = GptError> {
    fn window_losses(&self, model: &Gpt, windows: Vec<Windows>) -> Vec<Tensor<1>>;

    /// The chapter's task underneath (its configuration and data).
    fn language_modeling(&self) -> &LanguageModeling;
}

impl WindowLosses for LanguageModeling {
    fn window_losses(&self, model: &Gpt, windows: Vec<Windows>) -> Vec<Tensor<1>> {
        windows
            .into_iter()
            .map(|(x, y)| cross_entropy(model.forward(x), y))
            .collect()
    }

    fn language_modeling(&self) -> &LanguageModeling {
        self
    }
}

/// What a checkpoint holds of the task: the configuration and the batch generator.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunState {
    pub config: RunConfig,
    pub rng_state: u64,
}

impl LanguageModeling {
    /// The task of training a model of `config` on `data`, tokenized by `tokenizer`. A configuration that cannot
    /// be trained with, or splits too short for one window, is an error that names the problem.
    pub fn new(config: RunConfig, data: TokenSplits, tokenizer: Tokenizer) -> Result<Self, GptError> {
        config.validate().map_err(|source| GptError::InvalidConfig {
            origin: "the run configuration".into(),
            source,
        })?;
        data.check_windows_fit(config.model.block_size)?;
        let rng = SplitMix64::new(config.training.seed);
        Ok(LanguageModeling {
            config,
            data,
            tokenizer,
            rng,
        })
    }

    // ANCHOR: estimate
    /// nanoGPT's `estimate_loss`: the mean loss over `eval_iters` random batches of each split. `losses` computes
    /// the mean loss of each batch of a list (one after another in [`Task::evaluate`]; the appendix spreads them
    /// over the cores). The batches come from a generator of their own, so evaluating never changes the training
    /// batches.
    pub fn estimate_loss(
        &self,
        step: usize,
        device: &Device,
        mut losses: impl FnMut(Vec<Windows>) -> Vec<Tensor<1>>,
    ) -> Result<Evaluation, GptError> {
        let (model_config, config) = (&self.config.model, &self.config.training);
        let mut rng = SplitMix64::new(step_seed(config.seed.wrapping_add(1), step));
        let mut mean_loss = |ids: &[u32]| {
            let batches = (0..config.eval_iters)
                .map(|_| random_windows(ids, config.batch_size, model_config.block_size, &mut rng, device))
                .collect();
            // Read from the device together, in one wait.
            let mean = read_scalars(losses(batches))?.iter().sum::<f32>() / config.eval_iters as f32;
            Ok::<_, GptError>(check_finite(step, mean)?)
        };
        Ok(Evaluation {
            step,
            train_loss: mean_loss(&self.data.train)?,
            val_loss: mean_loss(&self.data.val)?,
        })
    }
    // ANCHOR_END: estimate

    // ANCHOR: whole_split
    /// The mean loss over every window of `block_size` tokens that tiles `ids` end to end, ⌊(N - 1) / T⌋ of
    /// them (a tail too short for one is left out): the split's loss without the sampling noise of
    /// [`LanguageModeling::estimate_loss`] (about 0.01 for nanoGPT's 20 batches), so two runs can be compared on it.
    /// The windows go `batch_size` at a time to `losses`, which returns each batch's mean loss.
    pub fn whole_split_loss(
        &self,
        ids: &[u32],
        device: &Device,
        losses: impl FnOnce(Vec<Windows>) -> Vec<Tensor<1>>,
    ) -> Result<f64, GptError> {
        let (block_size, batch_size) = (self.config.model.block_size, self.config.training.batch_size.max(1));
        check_window_fits("the split", ids, block_size)?;
        let windows = (ids.len() - 1) / block_size;
        let starts: Vec<usize> = (0..windows).map(|i| i * block_size).collect();
        let batches: Vec<Windows> = starts
            .chunks(batch_size)
            .map(|starts| windows_at(ids, starts, block_size, device))
            .collect();
        let counts: Vec<usize> = batches.iter().map(|(x, _)| x.dims()[0]).collect();
        // Each batch's mean loss times its windows: their sum over all batches is the sum over all windows.
        let means = read_scalars(losses(batches))?;
        let total: f64 = means
            .iter()
            .zip(counts)
            .map(|(&mean, n)| f64::from(mean) * n as f64)
            .sum();
        Ok(total / windows as f64)
    }
    // ANCHOR_END: whole_split
}

/// A fresh run: a model of `config` initialised from its seed on `device` (with autodiff), nanoGPT's optimiser,
/// and the kit's loop as [`TrainingConfig::plan`] says.
pub fn trainer(
    config: RunConfig,
    data: TokenSplits,
    tokenizer: Tokenizer,
    device: &Device,
) -> Result<Trainer, GptError> {
    let task = LanguageModeling::new(config, data, tokenizer)?;
    let config = &task.config;
    device.seed(config.training.seed);
    let model = config.model.init(device);
    let optimizer = optimizer(&config.training, &model);
    let plan = config.training.plan();
    Ok(Trainer::new(task, model, optimizer, plan, device))
}

/// The mean loss of the run's model (dropout off) over the windows that tile `ids`
/// ([`LanguageModeling::whole_split_loss`]).
pub fn whole_split_loss<T: WindowLosses>(trainer: &engine::Trainer<T>, ids: &[u32]) -> Result<f64, GptError> {
    let model = trainer.model.valid();
    let device = trainer.device().clone().inner();
    let task = &trainer.task;
    task.language_modeling()
        .whole_split_loss(ids, &device, |windows| task.window_losses(&model, windows))
}
