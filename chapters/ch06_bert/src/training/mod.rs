//! Masked-LM pretraining in the training kit's loop ([`common::train::engine`]): this chapter gives it
//! [`MaskedLanguageModeling`] (batches of freshly masked sequences, the masked-LM loss, the evaluation on held-out
//! text) and the two baselines that evaluation must beat. What a run is made of is in [`config`].

pub mod config;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use burn::optim::{AdamWConfig, ModuleOptimizer};
use burn::prelude::*;
use common::rng::SplitMix64;
use common::train::engine::{self, Saved, read_saved};
use common::train::{Keep, LossPoint, Plan, Task, adamw, checkpoint, step_seed};
use serde::{Deserialize, Serialize};
use tokens::BpeTokenizer;

use crate::data::split_text;
use crate::error::BertError;
use crate::masking::{Masked, MaskedBatch, SpecialTokens, correct_predictions, mask_tokens, masked_lm_loss};
use crate::model::BertForMaskedLm;
use crate::vocab::BertVocab;
pub use config::{RunConfig, TrainingConfig};

/// A pretraining run: the kit's loop on [`MaskedLanguageModeling`].
pub type Trainer = engine::Trainer<MaskedLanguageModeling>;

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

impl fmt::Display for MlmScore {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "val masked-LM loss {:.4}, masked accuracy {:.2}%",
            self.loss,
            100.0 * self.accuracy
        )
    }
}

impl engine::Score for MlmScore {
    fn step(&self) -> usize {
        self.step
    }

    fn val_loss(&self) -> f64 {
        self.loss
    }
}

/// What a checkpoint holds of the task besides the vocabulary: the configuration, and a fingerprint of the training
/// sequences, so that a resume on other text is caught (a checkpoint written before it has none).
#[derive(Debug, Serialize, Deserialize)]
pub struct RunState {
    pub config: RunConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_sha256: Option<String>,
}

/// The SHA-256 of `sequences`, each as its length and its ids (little-endian u32s).
pub fn sequences_sha256(sequences: &[Vec<u32>]) -> String {
    let mut bytes = Vec::new();
    for sequence in sequences {
        bytes.extend((sequence.len() as u32).to_le_bytes());
        bytes.extend(sequence.iter().flat_map(|id| id.to_le_bytes()));
    }
    common::data::sha256_hex(&bytes)
}

/// Chapter 1's byte-level BPE learned on the training split of `text` ([`split_text`]), with the configuration's
/// size, and the five special tokens: the model's vocabulary.
pub fn learn_vocab(text: &str, config: &RunConfig) -> Result<BertVocab, BertError> {
    let vocab = BertVocab::new(BpeTokenizer::train(split_text(text).0, config.training.bpe_vocab_size)?);
    if vocab.vocab_size() != config.model.vocab_size {
        return Err(BertError::TextTooShortForVocab {
            asked: config.training.bpe_vocab_size,
            learned: vocab.bpe.vocab_size(),
        });
    }
    Ok(vocab)
}

/// The vocabulary's file in a checkpoint.
pub const VOCAB_FILE: &str = "vocab.json";

/// The masks every evaluation scores: drawn once from the run's seed, so that evaluations differ by the model only.
pub fn evaluation_masks(sequences: &[Vec<u32>], vocab: &BertVocab, config: &RunConfig) -> Vec<Masked> {
    let mut rng = SplitMix64::new(config.training.seed.wrapping_add(1));
    let (special, v) = (vocab.special(), vocab.vocab_size());
    sequences
        .iter()
        .map(|s| mask_tokens(s, &special, v, &config.training.masking, &mut rng))
        .collect()
}

// ANCHOR: step
/// Masked-LM pretraining on a corpus: what chapter 6 gives the kit's loop.
pub struct MaskedLanguageModeling {
    pub config: RunConfig,
    pub vocab: BertVocab,
    /// The training sequences, masked afresh at every step.
    pub train: Vec<Vec<u32>>,
    /// The validation sequences, masked once ([`evaluation_masks`]).
    pub val: Vec<Masked>,
}

impl MaskedLanguageModeling {
    /// Step `step`'s `batch_size` sequences, drawn from the training split and masked afresh (RoBERTa's dynamic
    /// masking), from a seed of the step: a resumed run draws what the uninterrupted one drew.
    pub fn masked_sequences(&self, step: usize) -> Result<Vec<Masked>, BertError> {
        if self.train.is_empty() {
            return Err(BertError::EmptySplit);
        }
        let config = &self.config.training;
        let mut rng = SplitMix64::new(step_seed(config.seed, step));
        let (special, v) = (self.vocab.special(), self.vocab.vocab_size());
        Ok((0..config.batch_size)
            .map(|_| {
                mask_tokens(
                    &self.train[rng.below(self.train.len())],
                    &special,
                    v,
                    &config.masking,
                    &mut rng,
                )
            })
            .collect())
    }
}

impl Task for MaskedLanguageModeling {
    type Model = BertForMaskedLm;
    type Batch = MaskedBatch;
    type Score = MlmScore;
    type State = RunState;
    type Error = BertError;
    const UNIT: &'static str = "tokens";
    const KIND: &'static str = "chapter 6's BERT (`bert pretrain`)";

    /// The step's sequences ([`MaskedLanguageModeling::masked_sequences`]), padded into one batch.
    fn batch(&mut self, step: usize, device: &Device) -> Result<MaskedBatch, BertError> {
        let sequences = self.masked_sequences(step)?;
        Ok(MaskedBatch::new(&sequences, self.vocab.special().pad, device))
    }

    /// Every position, padding included.
    fn size(&self, batch: &MaskedBatch) -> usize {
        batch.inputs.dims().iter().product()
    }

    /// The cross-entropy at the chosen positions only.
    fn loss(&self, model: &BertForMaskedLm, batch: MaskedBatch) -> Tensor<1> {
        let logits = model.forward_at(batch.inputs, Some(batch.padding), batch.positions);
        masked_lm_loss(logits, batch.targets)
    }

    fn evaluate(
        &mut self,
        model: &BertForMaskedLm,
        step: usize,
        _: &[LossPoint],
        device: &Device,
    ) -> Result<MlmScore, BertError> {
        let pad = self.vocab.special().pad;
        let score = score(model, &self.val, pad, self.config.training.batch_size, device)?;
        Ok(MlmScore { step, ..score })
    }

    fn state(&self) -> RunState {
        RunState {
            config: self.config.clone(),
            train_sha256: Some(sequences_sha256(&self.train)),
        }
    }

    fn files(&self) -> Vec<(&'static str, Vec<u8>)> {
        vec![(VOCAB_FILE, self.vocab.to_json().into_bytes())]
    }
}
// ANCHOR_END: step

impl MaskedLanguageModeling {
    /// The task of pretraining a model of `config` on `train`, evaluated on `val` (masked once from the run's seed).
    /// A configuration that cannot be trained with, or an empty split, is an error that says so.
    pub fn new(config: RunConfig, vocab: BertVocab, train: Vec<Vec<u32>>, val: &[Vec<u32>]) -> Result<Self, BertError> {
        config.validate()?;
        if train.is_empty() || val.is_empty() {
            return Err(BertError::EmptySplit);
        }
        let val = evaluation_masks(val, &vocab, &config);
        Ok(MaskedLanguageModeling {
            config,
            vocab,
            train,
            val,
        })
    }

    /// A task without data of its own, for steps on batches given to [`engine::Trainer::train_step_on`] (a
    /// reference test's batches).
    pub fn on_given_batches(config: RunConfig, vocab: BertVocab) -> Self {
        MaskedLanguageModeling {
            config,
            vocab,
            train: Vec::new(),
            val: Vec::new(),
        }
    }
}

impl RunConfig {
    /// How the kit's loop runs a pretraining: evaluations at step 0, every `eval_interval` steps and at the end,
    /// each followed by a checkpoint of the latest model; the losses read every 10 steps; dropout masks drawn from
    /// a seed of each step (a stream apart from the batches', which use the seed itself).
    pub fn plan(&self) -> Plan {
        let t = &self.training;
        Plan {
            max_steps: t.max_iters,
            schedule: self.schedule(),
            grad_clip: t.grad_clip,
            eval_interval: t.eval_interval,
            evaluate_first: true,
            read_every: 10,
            dropout_seed: Some(t.seed ^ 1),
            keep: Keep::Latest,
        }
    }
}

/// A run of `task` from `model` (fresh or pretrained weights; `task.config.model` must describe it) on `device`
/// (with autodiff).
pub fn trainer_from(task: MaskedLanguageModeling, model: BertForMaskedLm, device: &Device) -> Trainer {
    let optimizer = optimizer(&task.config.training, &model);
    let plan = task.config.plan();
    Trainer::new(task, model, optimizer, plan, device)
}

/// A fresh run of `task`: a model initialised from the run's seed on `device` (with autodiff).
pub fn trainer(task: MaskedLanguageModeling, device: &Device) -> Trainer {
    device.seed(task.config.training.seed);
    let model = task.config.model.init_masked_lm(device);
    trainer_from(task, model, device)
}

/// The run saved in `path` (a run directory or its checkpoint), on `device` (with autodiff), ready to continue on the
/// sequences `split` makes with the saved vocabulary: `(train, val)`.
pub fn resume(
    path: &Path,
    device: &Device,
    split: impl FnOnce(&BertVocab, &RunConfig) -> (Vec<Vec<u32>>, Vec<Vec<u32>>),
) -> Result<Trainer, BertError> {
    let (dir, saved): (_, Saved<RunState, MlmScore>) =
        read_saved(path, MaskedLanguageModeling::KIND, |s: &RunState| s.config.validate())?;
    let vocab = read_vocab(&dir)?;
    let (train, val) = split(&vocab, &saved.task.config);
    if saved
        .task
        .train_sha256
        .as_ref()
        .is_some_and(|saved| *saved != sequences_sha256(&train))
    {
        return Err(BertError::OtherTrainingText);
    }
    let task = MaskedLanguageModeling::new(saved.task.config.clone(), vocab, train, &val)?;
    trainer(task, device).resume(&dir, saved)
}

/// The model and vocabulary of a checkpoint, for inference (no autodiff, dropout off).
pub fn load_checkpoint(path: &Path, device: &Device) -> Result<(RunConfig, BertForMaskedLm, BertVocab), BertError> {
    let (dir, saved): (_, Saved<RunState, MlmScore>) =
        read_saved(path, MaskedLanguageModeling::KIND, |s: &RunState| s.config.validate())?;
    let vocab = read_vocab(&dir)?;
    let config = saved.task.config;
    let fresh = config.model.clone().with_dropout(0.0).init_masked_lm(device);
    Ok((config, checkpoint::load_model(&dir, fresh)?, vocab))
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
