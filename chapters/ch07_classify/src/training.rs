//! Fine-tuning: padded batches of messages, the cross-entropy of the two classes, AdamW on whatever the regime
//! leaves trainable, an evaluation on the validation split after each epoch, and the best epoch kept.

use std::time::Instant;

use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::{log_softmax, softmax};
use common::metrics::Report;
use common::rng::SplitMix64;
use common::train::{LossPoint, WarmupCosine, adamw, check_finite, clip_global_norm};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use crate::ClassifyError;
use crate::backbones::{BackboneKind, Pretrained, TextEncoder};
use crate::data::{Label, Message, Protocol};
use crate::lora::LoraConfig;
use crate::model::{Classifier, NUM_CLASSES, Pooling, Regime, num_trainable_params};

/// Everything a fine-tuning run is made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FineTuneConfig {
    pub backbone: BackboneKind,
    pub regime: Regime,
    pub pooling: Pooling,
    pub protocol: Protocol,
    pub epochs: usize,
    pub batch_size: usize,
    /// The peak learning rate, reached after a warm-up of 10% of the steps, then a half cosine down to a tenth.
    pub learning_rate: f64,
    pub weight_decay: f64,
    pub grad_clip: f64,
    /// Dropout before the head.
    pub head_dropout: f64,
    /// Messages are cut to this many tokens (or the backbone's context, if shorter).
    pub max_len: usize,
    pub lora: LoraConfig,
    pub seed: u64,
}

impl FineTuneConfig {
    /// The book's settings for `backbone` under `regime`: 3 epochs of batches of 16, AdamW, and a learning rate
    /// that shrinks with how much of a pretrained network is moved: 10⁻³ for a new head or LoRA's new
    /// matrices, 10⁻⁴ for the last block, 5 · 10⁻⁵ for all of it (BERT's paper fine-tunes at 2 to
    /// 5 · 10⁻⁵). A backbone of random weights has nothing to keep: 10⁻⁴ when it is trained whole.
    pub fn new(backbone: BackboneKind, regime: Regime) -> Self {
        let learning_rate = match (regime, backbone) {
            (Regime::Head | Regime::Lora, _) => 1e-3,
            (Regime::LastBlock, _) | (Regime::Full, BackboneKind::Scratch) => 1e-4,
            (Regime::Full, _) => 5e-5,
        };
        FineTuneConfig {
            backbone,
            regime,
            pooling: backbone.default_pooling(),
            protocol: Protocol::Imbalanced,
            epochs: 3,
            batch_size: 16,
            learning_rate,
            weight_decay: 0.01,
            grad_clip: 1.0,
            head_dropout: 0.1,
            max_len: 128,
            lora: LoraConfig::default(),
            seed: 123,
        }
    }
}

// ANCHOR: batch
/// A batch: token ids `[batch, t]` padded to its longest message, `padding` true at real tokens, and the labels.
pub struct Batch {
    pub tokens: Tensor<2, Int>,
    pub padding: Tensor<2, Bool>,
    pub labels: Tensor<1, Int>,
}

/// `messages` encoded by `encoder`, each cut to `max_len` tokens and padded to the longest.
pub fn make_batch(
    encoder: &TextEncoder,
    messages: &[&Message],
    max_len: usize,
    device: &Device,
) -> Result<Batch, ClassifyError> {
    let rows = messages
        .iter()
        .map(|m| encoder.encode(&m.text, max_len))
        .collect::<Result<Vec<_>, _>>()?;
    let t = rows.iter().map(Vec::len).max().unwrap_or(1);
    let pad = encoder.pad_id() as i64;
    let mut ids = Vec::with_capacity(rows.len() * t);
    let mut real = Vec::with_capacity(rows.len() * t);
    for row in &rows {
        for i in 0..t {
            ids.push(row.get(i).map_or(pad, |&id| id as i64));
            real.push(i < row.len());
        }
    }
    let labels: Vec<i64> = messages.iter().map(|m| m.label.index() as i64).collect();
    Ok(Batch {
        tokens: Tensor::<1, Int>::from_ints(ids.as_slice(), device).reshape([rows.len(), t]),
        padding: Tensor::<1, Bool>::from_data(TensorData::new(real, [rows.len() * t]), device).reshape([rows.len(), t]),
        labels: Tensor::from_ints(labels.as_slice(), device),
    })
}
// ANCHOR_END: batch

// ANCHOR: loss
/// The mean cross-entropy of the true classes: -1/n Σ_i log softmax(z_i)_{y_i} for logits
/// z `[n, 2]` and labels y `[n]`.
pub fn cross_entropy(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    let n = labels.dims()[0];
    let log_p = log_softmax(logits, 1).gather(1, labels.reshape([n, 1]));
    log_p.mean().neg()
}
// ANCHOR_END: loss

/// The classes' probabilities `[p(ham), p(spam)]` of every message, `batch_size` at a time, with dropout off.
pub fn predict(
    model: &Classifier,
    encoder: &TextEncoder,
    messages: &[Message],
    max_len: usize,
    batch_size: usize,
    device: &Device,
) -> Result<Vec<[f32; 2]>, ClassifyError> {
    let mut probabilities = Vec::with_capacity(messages.len());
    for chunk in messages.chunks(batch_size) {
        let refs: Vec<&Message> = chunk.iter().collect();
        let batch = make_batch(encoder, &refs, max_len, device)?;
        let p = softmax(model.forward(batch.tokens, batch.padding), 1);
        let values: Vec<f32> = p
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| ClassifyError::BadInput(format!("{e:?}")))?;
        probabilities.extend(values.chunks(NUM_CLASSES).map(|p| [p[0], p[1]]));
    }
    Ok(probabilities)
}

/// The report of `probabilities` against the messages' labels, spam predicted when p(spam) > 0.5.
pub fn report(messages: &[Message], probabilities: &[[f32; 2]]) -> Report {
    let truth: Vec<usize> = messages.iter().map(|m| m.label.index()).collect();
    let predicted: Vec<usize> = probabilities.iter().map(|p| usize::from(p[1] > p[0])).collect();
    Report::new(NUM_CLASSES, &truth, &predicted)
}

/// A model's scores on a split after an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochScores {
    pub epoch: usize,
    pub train_loss: f64,
    pub val_loss: f64,
    pub val_accuracy: f64,
    pub val_spam_f1: f64,
}

/// A finished run: the best epoch's model (LoRA merged into the weights), every epoch's scores, every step's loss.
pub struct FineTuned {
    pub model: Classifier,
    pub best_epoch: usize,
    pub epochs: Vec<EpochScores>,
    pub history: Vec<LossPoint>,
    pub trainable_params: usize,
    /// Training examples a second, over the training steps only (evaluations left out).
    pub examples_per_second: f64,
    pub train_seconds: f64,
}

// ANCHOR: fine_tune
/// Fine-tunes `pretrained` under `config` on `train`, keeping the epoch with the best spam F_1 on `val` (the
/// lower validation loss breaks a tie). `device` must be an autodiff device; `on_best` is called with each new
/// best model, the epochs so far and the optimizer (to save a checkpoint), `progress` shows the steps.
pub fn fine_tune(
    config: &FineTuneConfig,
    pretrained: Pretrained,
    train: &[Message],
    val: &[Message],
    device: &Device,
    progress: Option<&ProgressBar>,
    mut on_best: impl FnMut(&Classifier, &[EpochScores], &ModuleOptimizer) -> Result<(), ClassifyError>,
) -> Result<FineTuned, ClassifyError> {
    if config.epochs == 0 || config.batch_size == 0 || train.is_empty() || val.is_empty() {
        return Err(ClassifyError::BadInput(
            "fine-tuning needs at least one epoch, a batch size of at least 1, and training and validation messages"
                .into(),
        ));
    }
    device.seed(config.seed);
    let width = pretrained.architecture.size().width;
    let max_len = config.max_len.min(pretrained.architecture.context());
    let encoder = &pretrained.encoder;
    let mut model = Classifier::new(pretrained.backbone, width, config.pooling, config.head_dropout, device)
        .for_regime(config.regime, &config.lora);
    let trainable_params = num_trainable_params(&model);
    let mut optimizer: ModuleOptimizer = adamw(
        &AdamWConfig::new().with_weight_decay(config.weight_decay as f32),
        &model,
    );
    let steps_per_epoch = train.len().div_ceil(config.batch_size);
    let total_steps = steps_per_epoch * config.epochs;
    let schedule = WarmupCosine {
        peak: config.learning_rate,
        floor: config.learning_rate / 10.0,
        warmup_steps: total_steps / 10,
        decay_end: total_steps,
    };
    let mut rng = SplitMix64::new(config.seed);
    let (mut history, mut epochs) = (Vec::new(), Vec::new());
    let (mut best, mut best_epoch) = (None, 0);
    let (mut train_seconds, mut step) = (0.0, 0);
    for epoch in 1..=config.epochs {
        let mut order: Vec<&Message> = train.iter().collect();
        rng.shuffle(&mut order);
        let started = Instant::now();
        let mut epoch_loss = 0.0;
        for chunk in order.chunks(config.batch_size) {
            let batch = make_batch(encoder, chunk, max_len, device)?;
            let loss = cross_entropy(model.forward(batch.tokens, batch.padding), batch.labels);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            let (grads, _) = clip_global_norm(&model, grads, config.grad_clip as f32);
            let lr = schedule.at(step);
            model = optimizer.step(lr, model, grads);
            let loss = check_finite(step, loss.inner().into_scalar::<f32>())?;
            epoch_loss += loss as f64 * chunk.len() as f64;
            history.push(LossPoint {
                step,
                train_loss: loss,
                val_loss: None,
                learning_rate: lr,
            });
            step += 1;
            if let Some(bar) = progress {
                bar.inc(1);
                let seconds = train_seconds + started.elapsed().as_secs_f64();
                bar.set_message(format!(
                    "epoch {epoch}, loss {loss:.3}, {:.0} examples/s",
                    (step * config.batch_size) as f64 / seconds
                ));
            }
        }
        train_seconds += started.elapsed().as_secs_f64();
        let valid = model.valid();
        let inference = device.clone().inner();
        let probabilities = predict(&valid, encoder, val, max_len, 64, &inference)?;
        let val_report = report(val, &probabilities);
        let val_loss = probabilities
            .iter()
            .zip(val)
            .map(|(p, m)| -(p[m.label.index()].max(1e-12) as f64).ln())
            .sum::<f64>()
            / val.len() as f64;
        let scores = EpochScores {
            epoch,
            train_loss: epoch_loss / train.len() as f64,
            val_loss,
            val_accuracy: val_report.accuracy,
            val_spam_f1: val_report.per_class[Label::Spam.index()].f1,
        };
        epochs.push(scores);
        let better = |b: &EpochScores| (scores.val_spam_f1, -scores.val_loss) > (b.val_spam_f1, -b.val_loss);
        if best_epoch == 0 || better(&epochs[best_epoch - 1]) {
            let merged = valid.materialize();
            on_best(&merged, &epochs, &optimizer)?;
            best = Some(merged);
            best_epoch = epoch;
        }
    }
    Ok(FineTuned {
        model: best.expect("at least one epoch"),
        best_epoch,
        epochs,
        history,
        trainable_params,
        examples_per_second: (train.len() * config.epochs) as f64 / train_seconds,
        train_seconds,
    })
}
// ANCHOR_END: fine_tune
