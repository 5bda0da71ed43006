//! Causal pretraining as nanoGPT's `train.py` does it: random windows, AdamW with weight decay on the weight
//! matrices only, warm-up then cosine decay, gradient clipping, loss estimates on both splits every few steps, and
//! checkpoints a run can be resumed from. The shared parts (schedule, optimiser, clipping, history, progress bar,
//! atomic checkpoints) come from the training kit, [`common::train`].

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::{ModuleVisitor, Param};
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use common::rng::SplitMix64;
use common::train::checkpoint::{self, CheckpointError};
use common::train::history::progress_message;
use common::train::{LossPoint, WarmupCosine, adamw, clip_global_norm};
use indicatif::ProgressBar;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::{TokenSplits, Tokenizer, TokenizerKind, check_window_fits, random_windows, windows_at};
use crate::model::{Gpt, GptConfig};

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
    pub weight_decay: f32,
    #[config(default = 0.9)]
    pub beta1: f32,
    /// 0.99 rather than Adam's 0.999: with few tokens per step, a shorter memory of the gradient's scale.
    #[config(default = 0.99)]
    pub beta2: f32,
    /// Gradients are rescaled so that their global L2 norm is at most this.
    #[config(default = 1.0)]
    pub grad_clip: f32,
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
    pub fn named(name: &str, vocab_size: usize) -> Result<Self, String> {
        let mut config = match name {
            "baby" => Self::baby(vocab_size),
            "small" => Self::small(vocab_size),
            "tiny" => Self::tiny(vocab_size),
            path => RunConfig::load(path).map_err(|e| {
                format!("--config {path:?} is neither a preset (baby, small, tiny) nor a readable config file: {e}")
            })?,
        };
        config.model.vocab_size = vocab_size;
        Ok(config)
    }
}
// ANCHOR_END: presets

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
}
// ANCHOR_END: schedule

// ANCHOR: loss
/// The language-modelling loss: mean over all $B \times T$ positions of $-\log p(y_t \mid x_{\le t})$.
/// At initialisation every token is about equally likely, so it starts near $\ln V$.
pub fn cross_entropy(logits: Tensor<3>, targets: Tensor<2, Int>) -> Tensor<1> {
    let [batch, t, vocab] = logits.dims();
    let log_p = log_softmax(logits.reshape([batch * t, vocab]), 1);
    log_p.gather(1, targets.reshape([batch * t, 1])).mean().neg()
}
// ANCHOR_END: loss

// ANCHOR: data_parallel
/// The batch's loss and its gradient, computed in `shards` slices of the batch at once, one per thread: data
/// parallelism, as PyTorch's `DistributedDataParallel` spreads a batch over GPUs. Each slice runs forward and
/// backward on its own copy of the model ([`Module::fork`]: the same parameters, new leaves of a graph of its
/// own, so the threads never share an autodiff graph). Slice $s$ holds $b_s$ of the batch's $B$ sequences, so the
/// batch's mean loss is $L = \sum_s \tfrac{b_s}{B} L_s$ and its gradient the sum of the slices' gradients of
/// $\tfrac{b_s}{B} L_s$: the same step as one pass over the whole batch, up to rounding. The loss stays on the device
/// (without its graph).
pub fn batch_gradients(
    model: &Gpt,
    x: Tensor<2, Int>,
    y: Tensor<2, Int>,
    shards: usize,
) -> (Tensor<1>, GradientsParams) {
    let batch = x.dims()[0];
    let shards = shards.clamp(1, batch.max(1)); // never an empty slice
    let slices: Vec<_> = (0..shards)
        .map(|s| (s * batch / shards)..((s + 1) * batch / shards)) // sizes differ by at most one
        .map(|rows| {
            (
                model.clone().fork(&x.device()),
                x.clone().slice([rows.clone()]),
                y.clone().slice([rows]),
            )
        })
        .collect();
    let slice_gradients = |(model, x, y): (Gpt, Tensor<2, Int>, Tensor<2, Int>)| {
        let share = x.dims()[0] as f32 / batch as f32;
        let loss = cross_entropy(model.forward(x), y).mul_scalar(share);
        (
            loss.clone().inner(),
            GradientsParams::from_grads(loss.backward(), &model),
        )
    };
    let parallel = slices.len() > 1;
    let (losses, mut gradients): (Vec<Tensor<1>>, Vec<GradientsParams>) =
        map_in_order(slices, parallel, slice_gradients).into_iter().unzip();
    let mut sum = SumGradients {
        slices: &mut gradients,
        total: GradientsParams::new(),
    };
    model.visit(&mut sum);
    let loss = losses.into_iter().reduce(|a, b| a + b).expect("at least one slice");
    (loss, sum.total)
}

/// The shards [`Trainer::with_shards`] should use for `config` on `device`: one per core of the CPU; one on a GPU,
/// which is parallel inside every operation already, and one with dropout, so that such a run stays reproducible.
pub fn shards_for(config: &RunConfig, device: &Device) -> usize {
    if *device == Device::flex() && config.model.dropout == 0.0 {
        rayon::current_num_threads()
    } else {
        1
    }
}

/// `f` applied to each of `items`, results in the items' order; on rayon's threads when `parallel`, otherwise on
/// this one (a GPU device is best left to one thread).
fn map_in_order<T: Send, R: Send>(items: Vec<T>, parallel: bool, f: impl Fn(T) -> R + Send + Sync) -> Vec<R> {
    if parallel {
        items.into_par_iter().map(f).collect()
    } else {
        items.into_iter().map(f).collect()
    }
}

/// Adds up, parameter by parameter, the gradients of the slices of a batch.
struct SumGradients<'a> {
    slices: &'a mut [GradientsParams],
    total: GradientsParams,
}

impl ModuleVisitor for SumGradients<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let grads = self.slices.iter_mut().filter_map(|g| g.remove::<D>(param.id));
        if let Some(sum) = grads.reduce(|a, b| a + b) {
            self.total.register(param.id, sum);
        }
    }
}
// ANCHOR_END: data_parallel

// ANCHOR: optimizer
/// nanoGPT's AdamW for `model`: the kit's [`adamw`], which decays the 2-D parameters (weight matrices,
/// embeddings) and not the 1-D ones (biases, layer-norm gains and shifts), with $\beta_2 = 0.99$ and
/// $\varepsilon = 10^{-8}$.
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
    /// Slices of each batch processed at once (see [`batch_gradients`]); 1 unless [`Trainer::with_shards`].
    shards: usize,
}

/// What a checkpoint's `state.json` holds besides the weights.
#[derive(Serialize, Deserialize)]
struct TrainerState {
    config: RunConfig,
    step: usize,
    rng_state: u64,
    history: Vec<LossPoint>,
    evaluations: Vec<Evaluation>,
}

/// Scalars computed on the device (losses), read in one transfer. If the device failed while computing them (on a
/// GPU: out of memory, or a buffer larger than the adapter allows), the error says so instead of a panic.
fn read_scalars(values: Vec<Tensor<1>>) -> Result<Vec<f32>, String> {
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let data = Tensor::cat(values, 0)
        .try_into_data()
        .map_err(|e| device_failure(&e.to_string()))?;
    Ok(data.iter::<f32>().collect())
}

/// A clear message for a device that failed: the innermost cause of burn's report (which lists every operation it
/// skipped) and what to do about it.
pub fn device_failure(report: &str) -> String {
    let lines: Vec<&str> = report.lines().map(str::trim).collect();
    let innermost = lines.iter().rposition(|line| *line == "Caused by:");
    let cause = innermost
        .and_then(|i| lines.get(i + 1))
        .or(lines.first())
        .copied()
        .unwrap_or("unknown error");
    format!(
        "the device failed ({cause}). On a GPU the model may need more memory than the device has, or buffers larger \
         than the adapter allows (software adapters such as llvmpipe allow smaller ones): use a smaller model or batch \
         (--config), or --device cpu"
    )
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
    pub fn new(config: RunConfig, device: &Device) -> Self {
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
            shards: 1,
            config,
        }
    }

    /// Splits each batch into `shards` slices, each computed by its own thread (at most one per sequence): use
    /// as many as the CPU has cores, and 1 on a GPU, which is parallel within each operation already. The
    /// losses are those of one pass up to rounding. With dropout, the slices draw their masks from the device's one
    /// generator in whatever order their threads come to it: such a run is no longer reproducible bit for bit.
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
        let (loss, grads) = batch_gradients(&self.model, x, y, self.shards);
        let (grads, _norm) = clip_global_norm(&self.model, grads, config.grad_clip);
        let lr = config.schedule().at(self.step);
        self.model = self.optimizer.step(lr, self.model.clone(), grads);
        self.unread.push((self.step, lr, loss.clone()));
        self.step += 1;
        loss
    }
    // ANCHOR_END: step

    /// Brings the losses of the steps since the last read from the device into `history`, in one transfer (one wait
    /// for the device), and returns the latest step's loss.
    pub fn read_losses(&mut self) -> Result<Option<f32>, String> {
        if !self.unread.is_empty() {
            let (steps, losses): (Vec<_>, Vec<_>) =
                self.unread.drain(..).map(|(step, lr, loss)| ((step, lr), loss)).unzip();
            let points = steps.into_iter().zip(read_scalars(losses)?);
            self.history
                .extend(points.map(|((step, learning_rate), train_loss)| LossPoint {
                    step,
                    train_loss,
                    val_loss: None,
                    learning_rate,
                }));
        }
        Ok(self.history.last().map(|point| point.train_loss))
    }

    /// nanoGPT's `estimate_loss`: the mean loss over `eval_iters` random batches of each split, with dropout off.
    /// Its batches come from a generator of their own, so evaluating never changes the training batches.
    pub fn evaluate(&mut self, data: &TokenSplits) -> Result<Evaluation, String> {
        data.check_windows_fit(self.config.model.block_size)?;
        self.read_losses()?;
        let (model_config, config) = (&self.config.model, &self.config.training);
        let model = self.model.valid();
        let device = self.device.clone().inner();
        let mut rng = SplitMix64::new(step_seed(config.seed.wrapping_add(1), self.step));
        let parallel = self.shards > 1;
        let mut mean_loss = |ids: &[u32]| {
            let batches: Vec<_> = (0..config.eval_iters)
                .map(|_| random_windows(ids, config.batch_size, model_config.block_size, &mut rng, &device))
                .collect();
            // The batches are independent: with several shards, as many threads share them. Their losses are read
            // from the device together, in one wait.
            let losses = map_in_order(batches, parallel, |(x, y)| cross_entropy(model.forward(x), y));
            Ok::<_, String>(read_scalars(losses)?.iter().sum::<f32>() / config.eval_iters.max(1) as f32)
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
    /// The mean loss over every window of `block_size` tokens that tiles `ids` end to end, $\lfloor (N - 1) / T
    /// \rfloor$ of them (a tail too short for one is left out), with dropout off: the split's loss without the
    /// sampling noise of [`Trainer::evaluate`]'s estimate (about 0.01 for nanoGPT's 20 batches), so two runs can be
    /// compared on it. Computed `batch_size` windows at a time, on as many threads as the trainer has shards.
    pub fn whole_split_loss(&self, ids: &[u32]) -> Result<f64, String> {
        let (block_size, batch_size) = (self.config.model.block_size, self.config.training.batch_size.max(1));
        check_window_fits(ids, block_size)?;
        let windows = (ids.len() - 1) / block_size;
        let starts: Vec<usize> = (0..windows).map(|i| i * block_size).collect();
        let model = self.model.valid();
        let device = self.device.clone().inner();
        let batches: Vec<_> = starts
            .chunks(batch_size)
            .map(|starts| windows_at(ids, starts, block_size, &device))
            .collect();
        // Each batch's mean loss times its windows: their sum over all batches is the sum over all windows.
        let sums = map_in_order(batches, self.shards > 1, |(x, y)| {
            let count = x.dims()[0] as f32;
            cross_entropy(model.forward(x), y).mul_scalar(count)
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
    ) -> Result<(), String> {
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

    // ANCHOR: checkpoint
    /// Writes the model, the optimizer's state, the step, the batch generator, the history, the configuration
    /// and the tokenizer to the directory `dir`, atomically (the kit's [`checkpoint::save`]: a crash mid-write
    /// leaves the previous checkpoint whole).
    pub fn save(&mut self, dir: &Path, tokenizer: &Tokenizer) -> Result<(), String> {
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
        checkpoint::save(dir, &self.model, &self.optimizer, &state, &extra).map_err(|e| explain(e, dir))
    }

    /// A run saved by [`Trainer::save`], ready to continue on `device` (with autodiff), and its tokenizer.
    pub fn resume(dir: &Path, device: &Device) -> Result<(Self, Tokenizer), String> {
        let (found, state, tokenizer) = read_state(dir)?;
        let model = load_weights(&state.config.model, &found, device)?;
        let optimizer = checkpoint::load_optimizer(&found, optimizer(&state.config.training, &model))
            .map_err(|e| explain(e, dir))?;
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
            shards: 1,
        };
        Ok((trainer, tokenizer))
    }
    // ANCHOR_END: checkpoint
}

/// The tokenizer, saved beside the kit's files.
const TOKENIZER_FILE: &str = "tokenizer.json";

/// A checkpoint error of the run saved as `dir`, with how to make one if there is none.
fn explain(error: CheckpointError, dir: &Path) -> String {
    match error {
        CheckpointError::Missing(_) => format!(
            "no checkpoint in {}: train one first with `cargo run --release -p gpt -- train --out {}`",
            dir.display(),
            dir.display()
        ),
        other => other.to_string(),
    }
}

/// A trained model, its configuration and tokenizer, from a checkpoint directory, for inference on `device`.
pub fn load_checkpoint(dir: &Path, device: &Device) -> Result<(Gpt, RunConfig, Tokenizer), String> {
    let (dir, state, tokenizer) = read_state(dir)?;
    let model = load_weights(&state.config.model, &dir, device)?;
    Ok((model, state.config, tokenizer))
}

/// The checkpoint directory actually found (see [`checkpoint::find`]), its training state and its tokenizer,
/// checked against each other.
fn read_state(dir: &Path) -> Result<(PathBuf, TrainerState, Tokenizer), String> {
    let found = checkpoint::find(dir).map_err(|e| explain(e, dir))?;
    let state: TrainerState = checkpoint::read_state(&found).map_err(|e| explain(e, dir))?;
    let tokenizer = checkpoint::read_file(&found, TOKENIZER_FILE).map_err(|e| explain(e, dir))?;
    let tokenizer = Tokenizer::from_json(&String::from_utf8_lossy(&tokenizer))?;
    if tokenizer.vocab_size() != state.config.model.vocab_size {
        return Err(format!(
            "the checkpoint {} is inconsistent: its tokenizer has {} tokens, its model {}",
            found.display(),
            tokenizer.vocab_size(),
            state.config.model.vocab_size
        ));
    }
    Ok((found, state, tokenizer))
}

/// The weights in `dir` loaded into a model of `config`; weights of another shape are an error that says so.
pub fn load_weights(config: &GptConfig, dir: &Path, device: &Device) -> Result<Gpt, String> {
    checkpoint::load_model(dir, config.init(device)).map_err(|e| explain(e, dir))
}
