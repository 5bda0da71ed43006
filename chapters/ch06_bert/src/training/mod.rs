//! Masked-LM pretraining: the steps, the evaluation on held-out text with its two baselines, and checkpoints (the
//! training kit's, [`common::train`]). What a run is made of is in [`config`].

pub mod config;

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use common::rng::SplitMix64;
use common::train::{LossPoint, adamw, check_finite, checkpoint, clip_global_norm};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use crate::error::BertError;
use crate::masking::{Masked, MaskedBatch, SpecialTokens, correct_predictions, mask_tokens, masked_lm_loss};
use crate::model::BertForMaskedLm;
use crate::vocab::BertVocab;
pub use config::{RunConfig, TrainingConfig};

/// The masked-LM loss and accuracy of a model on every sequence of a split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MlmScore {
    pub step: usize,
    /// Mean cross-entropy over the chosen positions.
    pub loss: f64,
    /// Share of the chosen positions whose original token is the model's most likely one.
    pub accuracy: f64,
    /// How many positions were scored.
    pub scored: usize,
}

/// What a checkpoint holds besides the weights and the optimizer.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    step: usize,
    config: RunConfig,
    history: Vec<LossPoint>,
    evaluations: Vec<MlmScore>,
}

/// The vocabulary's file in a checkpoint.
pub const VOCAB_FILE: &str = "vocab.json";

/// A seed for everything random at `step` (the batch's sequences, its masks, dropout): a resumed run draws what
/// the uninterrupted run drew, and each epoch masks the same sequence anew (RoBERTa's dynamic masking).
fn step_seed(seed: u64, step: usize) -> u64 {
    SplitMix64::new(seed ^ (step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)).next_u64()
}

/// The masks every evaluation scores: drawn once from the run's seed, so that evaluations differ by the model only.
pub fn evaluation_masks(sequences: &[Vec<u32>], vocab: &BertVocab, config: &RunConfig) -> Vec<Masked> {
    let mut rng = SplitMix64::new(config.training.seed.wrapping_add(1));
    let (special, v) = (vocab.special(), vocab.vocab_size());
    sequences
        .iter()
        .map(|s| mask_tokens(s, &special, v, &config.training.masking, &mut rng))
        .collect()
}

/// How much [`Trainer::train`] did, and how fast: `tokens` counts every position of every batch (padding too),
/// `seconds` includes the evaluations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throughput {
    pub steps: usize,
    pub seconds: f64,
    pub tokens: usize,
}

/// A pretraining run in progress; everything in it is in a checkpoint.
pub struct Trainer {
    pub config: RunConfig,
    pub model: BertForMaskedLm,
    optimizer: ModuleOptimizer,
    pub step: usize,
    pub history: Vec<LossPoint>,
    pub evaluations: Vec<MlmScore>,
    device: Device,
}

impl Trainer {
    /// A fresh model on `device`, which must have autodiff.
    ///
    /// # Panics
    /// If `config` is invalid: check one read from a file with [`RunConfig::validate`] first.
    pub fn new(config: RunConfig, device: &Device) -> Self {
        if let Err(invalid) = config.validate() {
            panic!("Trainer::new: {invalid}");
        }
        device.seed(config.training.seed);
        let model = config.model.init_masked_lm(device);
        Self::with_model(config, model, device)
    }

    /// A run that starts from `model` (pretrained weights, or PyTorch's in the reference test) instead of fresh
    /// ones; `config.model` must describe it.
    pub fn with_model(config: RunConfig, model: BertForMaskedLm, device: &Device) -> Self {
        Trainer {
            optimizer: optimizer(&config.training, &model),
            model,
            step: 0,
            history: Vec::new(),
            evaluations: Vec::new(),
            device: device.clone(),
            config,
        }
    }

    // ANCHOR: step
    /// The batch of step `step`: `batch_size` sequences drawn from `train`, masked afresh.
    pub fn batch_at(&self, train: &[Vec<u32>], vocab: &BertVocab, step: usize) -> MaskedBatch {
        let config = &self.config.training;
        let mut rng = SplitMix64::new(step_seed(config.seed, step));
        let (special, v) = (vocab.special(), vocab.vocab_size());
        let sequences: Vec<Masked> = (0..config.batch_size)
            .map(|_| mask_tokens(&train[rng.below(train.len())], &special, v, &config.masking, &mut rng))
            .collect();
        MaskedBatch::new(&sequences, special.pad, &self.device)
    }

    /// One optimisation step on `batch`: the masked-LM loss on its chosen positions, its gradient clipped, an
    /// AdamW step at the schedule's rate. Returns the loss; a loss that is not finite is a [`Diverged`] error.
    ///
    /// [`Diverged`]: common::train::Diverged
    pub fn train_step_on(&mut self, batch: MaskedBatch) -> Result<f32, BertError> {
        self.device.seed(step_seed(self.config.training.seed ^ 1, self.step));
        let logits = self
            .model
            .forward_at(batch.inputs, Some(batch.padding), batch.positions);
        let loss = masked_lm_loss(logits, batch.targets);
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        let (grads, _norm) = clip_global_norm(&self.model, grads, self.config.training.grad_clip as f32);
        let lr = self.config.schedule().at(self.step);
        self.model = self.optimizer.step(lr, self.model.clone(), grads);
        let loss = check_finite(self.step, loss.inner().into_scalar::<f32>())?;
        self.history.push(LossPoint {
            step: self.step,
            train_loss: loss,
            val_loss: None,
            learning_rate: lr,
        });
        self.step += 1;
        Ok(loss)
    }
    // ANCHOR_END: step

    /// The model's loss and accuracy on `masked` (from [`evaluation_masks`]), with dropout off, `batch_size`
    /// sequences at a time.
    pub fn evaluate(&self, masked: &[Masked], pad: u32) -> Result<MlmScore, BertError> {
        let score = score(
            &self.model.valid(),
            masked,
            pad,
            self.config.training.batch_size,
            &self.device.clone().inner(),
        )?;
        Ok(MlmScore {
            step: self.step,
            ..score
        })
    }

    // ANCHOR: train
    /// Trains until step `until` (at most `max_iters`), evaluating on `val` at step 0, every `eval_interval` steps
    /// and at the end, and saving a checkpoint to `checkpoint` after each evaluation; with `progress`, shows the run
    /// there and prints each evaluation.
    pub fn train(
        &mut self,
        train: &[Vec<u32>],
        val: &[Masked],
        vocab: &BertVocab,
        until: usize,
        checkpoint: Option<&Path>,
        progress: Option<&ProgressBar>,
    ) -> Result<Throughput, BertError> {
        let (hidden, show) = (ProgressBar::hidden(), progress.is_some());
        let progress = progress.unwrap_or(&hidden);
        let config = self.config.training.clone();
        let until = until.min(config.max_iters);
        let (started, first_step) = (Instant::now(), self.step);
        let mut tokens = 0usize;
        loop {
            let due = self.step.is_multiple_of(config.eval_interval) || self.step == until;
            if due && self.evaluations.last().is_none_or(|e| e.step != self.step) {
                let score = self.evaluate(val, vocab.special().pad)?;
                check_finite(self.step, score.loss as f32)?;
                if show {
                    // Printed past the bar, so that the evaluations also reach a log when stderr is not a terminal.
                    progress.suspend(|| {
                        eprintln!(
                            "step {:>5}: val masked-LM loss {:.4}, masked accuracy {:.2}%",
                            score.step,
                            score.loss,
                            100.0 * score.accuracy
                        )
                    });
                }
                if let Some(point) = self.history.last_mut().filter(|p| p.step + 1 == self.step) {
                    point.val_loss = Some(score.loss as f32);
                }
                self.evaluations.push(score);
                if let Some(dir) = checkpoint {
                    self.save(dir, vocab)?;
                }
            }
            if self.step >= until {
                return Ok(Throughput {
                    steps: self.step - first_step,
                    seconds: started.elapsed().as_secs_f64(),
                    tokens,
                });
            }
            let batch = self.batch_at(train, vocab, self.step);
            tokens += batch.inputs.dims().iter().product::<usize>();
            let loss = self.train_step_on(batch)?;
            let seconds = started.elapsed().as_secs_f64();
            progress.set_position(self.step as u64);
            progress.set_message(format!(
                "loss {loss:.3} | {:.0} tokens/s ({} steps)",
                tokens as f64 / seconds,
                self.step - first_step
            ));
        }
    }
    // ANCHOR_END: train

    /// Saves the run (weights, optimizer, step, history, configuration, vocabulary) as the checkpoint `dir`.
    pub fn save(&self, dir: &Path, vocab: &BertVocab) -> Result<(), BertError> {
        let state = State {
            step: self.step,
            config: self.config.clone(),
            history: self.history.clone(),
            evaluations: self.evaluations.clone(),
        };
        let vocab_json = vocab.to_json();
        checkpoint::save(
            dir,
            &self.model,
            &self.optimizer,
            &state,
            &[(VOCAB_FILE, vocab_json.as_bytes())],
        )?;
        Ok(())
    }

    /// The run saved in `dir` (a run directory or its checkpoint), on `device` (with autodiff), ready to continue.
    pub fn resume(dir: &Path, device: &Device) -> Result<(Self, BertVocab), BertError> {
        let dir = checkpoint::find(dir)?;
        let state: State = checkpoint::read_valid_state(&dir, |s: &State| s.config.validate())?;
        let vocab = read_vocab(&dir)?;
        let mut trainer = Trainer::new(state.config, device);
        trainer.model = checkpoint::load_model(&dir, trainer.model)?;
        trainer.optimizer = checkpoint::load_optimizer(&dir, optimizer(&trainer.config.training, &trainer.model))?;
        trainer.step = state.step;
        trainer.history = state.history;
        trainer.evaluations = state.evaluations;
        Ok((trainer, vocab))
    }
}

/// The model and vocabulary of a checkpoint, for inference (no autodiff, dropout off).
pub fn load_checkpoint(path: &Path, device: &Device) -> Result<(RunConfig, BertForMaskedLm, BertVocab), BertError> {
    let dir = checkpoint::find(path)?;
    let state: State = checkpoint::read_valid_state(&dir, |s: &State| s.config.validate())?;
    let vocab = read_vocab(&dir)?;
    let fresh = state.config.model.clone().with_dropout(0.0).init_masked_lm(device);
    Ok((state.config, checkpoint::load_model(&dir, fresh)?, vocab))
}

fn read_vocab(dir: &Path) -> Result<BertVocab, BertError> {
    let bytes = checkpoint::read_file(dir, VOCAB_FILE)?;
    BertVocab::from_json(&String::from_utf8_lossy(&bytes))
}

/// AdamW with decay on the weight matrices and embeddings only (the kit's [`adamw`]), as BERT's recipe.
pub fn optimizer(config: &TrainingConfig, model: &BertForMaskedLm) -> ModuleOptimizer {
    let config = AdamWConfig::new()
        .with_beta_1(config.beta1 as f32)
        .with_beta_2(config.beta2 as f32)
        .with_epsilon(1e-6)
        .with_weight_decay(config.weight_decay as f32);
    adamw(&config, model)
}

/// Loss and accuracy of `model` (no autodiff) on the chosen positions of `masked`, `batch_size` at a time.
pub fn score(
    model: &BertForMaskedLm,
    masked: &[Masked],
    pad: u32,
    batch_size: usize,
    device: &Device,
) -> Result<MlmScore, BertError> {
    let (mut loss_sum, mut correct, mut scored) = (0.0f64, 0usize, 0usize);
    for chunk in masked.chunks(batch_size.max(1)) {
        if chunk.iter().all(|m| m.targets.iter().all(Option::is_none)) {
            continue;
        }
        let batch = MaskedBatch::new(chunk, pad, device);
        let n = batch.targets.dims()[0];
        let logits = model.forward_at(batch.inputs, Some(batch.padding), batch.positions);
        let loss = masked_lm_loss(logits.clone(), batch.targets.clone()).into_scalar::<f32>();
        loss_sum += f64::from(loss) * n as f64;
        correct += correct_predictions(logits, batch.targets).into_scalar::<i64>() as usize;
        scored += n;
    }
    Ok(MlmScore {
        step: 0,
        loss: loss_sum / scored.max(1) as f64,
        accuracy: correct as f64 / scored.max(1) as f64,
        scored,
    })
}

// ANCHOR: baselines
/// The two baselines a masked-LM must beat, on the chosen positions of `masked`, from token counts of `train`:
/// always answering the most frequent token (its accuracy), and the unigram distribution q (its loss
/// -1/|M| Σ log q(x_i), with add-one smoothing so that no token has probability 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Baselines {
    pub most_frequent_accuracy: f64,
    pub unigram_loss: f64,
}

pub fn baselines(train: &[Vec<u32>], masked: &[Masked], special: &SpecialTokens, vocab_size: usize) -> Baselines {
    let mut counts: HashMap<u32, usize> = HashMap::new();
    for &id in train.iter().flatten().filter(|&&id| !special.contains(id)) {
        *counts.entry(id).or_default() += 1;
    }
    let total: usize = counts.values().sum();
    let most_frequent = counts
        .iter()
        .max_by_key(|&(id, count)| (count, std::cmp::Reverse(id)))
        .map(|(&id, _)| id);
    let targets: Vec<u32> = masked
        .iter()
        .flat_map(|m| m.targets.iter().flatten().copied())
        .collect();
    let q = |id: u32| (counts.get(&id).copied().unwrap_or(0) + 1) as f64 / (total + vocab_size) as f64;
    let n = targets.len().max(1) as f64;
    Baselines {
        most_frequent_accuracy: targets.iter().filter(|&&t| Some(t) == most_frequent).count() as f64 / n,
        unigram_loss: -targets.iter().map(|&t| q(t).ln()).sum::<f64>() / n,
    }
}
// ANCHOR_END: baselines
