//! Fine-tuning: padded batches of messages, the cross-entropy of the two classes, AdamW on whatever the regime
//! leaves trainable, an evaluation on the validation split after each epoch, and the best epoch kept. The loop is
//! the training kit's ([`common::train::engine`]); this chapter gives it its [`FineTuning`] task.

use std::fmt;
use std::path::Path;

use burn::optim::{AdamWConfig, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::{log_softmax, softmax};
use common::DeviceFailed;
use common::config::Checks;
use common::data::sha256_hex;
use common::device::layer_activation_floats;
use common::metrics::Report;
use common::rng::SplitMix64;
use common::train::{Keep, LossPoint, Plan, Score, Task, Trainer, WarmupCosine, adamw};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use crate::ClassifyError;
use crate::backbones::{Architecture, BackboneKind, Pretrained, TextEncoder};
use crate::checkpoint::{ClassifierSpec, ClassifierState, TOKENIZER_FILE};
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
    /// The seed of the split, the head's initial weights, dropout and the order of the batches.
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
            seed: 1,
        }
    }

    /// About how many bytes a fine-tuning step on `architecture` holds at its peak, in float32: every weight, and
    /// for the trainable ones a gradient and AdamW's two moments; and what the layers that gradients reach keep for
    /// the backward pass at every position of a batch ([`layer_activation_floats`]). Gradients reach every
    /// layer in full fine-tuning and LoRA (whose adapters sit in every layer), the last block alone in the
    /// last-block regime, and none for the head alone, where only the layer being computed holds its activations.
    pub fn training_memory_bytes(&self, architecture: &Architecture) -> u64 {
        let size = architecture.size();
        let (total, trainable) = (size.total as u64, size.trainable(self.regime, &self.lora) as u64);
        let (d, d_ff, heads) = match architecture {
            Architecture::Gpt(c) => (c.n_embd, 4 * c.n_embd, c.n_head),
            Architecture::Bert(c) => (c.hidden_size, c.intermediate_size, c.num_attention_heads),
        };
        let layers_kept = match self.regime {
            Regime::Head => 1,
            Regime::LastBlock => 2.min(size.layers),
            Regime::Lora | Regime::Full => size.layers,
        } as u64;
        let t = self.max_len.min(architecture.context());
        let per_position = layer_activation_floats(d, d_ff, heads, t);
        let activations = (layers_kept * self.batch_size as u64 * t as u64).saturating_mul(per_position);
        activations.saturating_add(total + 3 * trainable).saturating_mul(4)
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

/// The classes' probabilities `[p(ham), p(spam)]` of every message, in the messages' order, `batch_size` at a
/// time, with dropout off. The batches take the messages shortest first, so that each pads its rows to little more
/// than their own length: padding is masked and changes no probability, only the time spent on it (a batch of
/// random messages pads nearly every row to the longest spam).
pub fn predict(
    model: &Classifier,
    encoder: &TextEncoder,
    messages: &[Message],
    max_len: usize,
    batch_size: usize,
    device: &Device,
) -> Result<Vec<[f32; 2]>, ClassifyError> {
    let lengths = messages
        .iter()
        .map(|m| encoder.encode(&m.text, max_len).map(|ids| ids.len()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut shortest_first: Vec<usize> = (0..messages.len()).collect();
    shortest_first.sort_by_key(|&i| lengths[i]);
    let mut probabilities = vec![[0.0; NUM_CLASSES]; messages.len()];
    for chunk in shortest_first.chunks(batch_size) {
        let refs: Vec<&Message> = chunk.iter().map(|&i| &messages[i]).collect();
        let batch = make_batch(encoder, &refs, max_len, device)?;
        let p = softmax(model.forward(batch.tokens, batch.padding), 1);
        let values: Vec<f32> = p
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| DeviceFailed::from_report(&format!("{e:?}")))?;
        for (&i, p) in chunk.iter().zip(values.chunks(NUM_CLASSES)) {
            probabilities[i] = [p[0], p[1]];
        }
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
    /// Steps done at the end of the epoch.
    #[serde(default)]
    pub step: usize,
    pub train_loss: f64,
    pub val_loss: f64,
    pub val_accuracy: f64,
    pub val_spam_f1: f64,
}

impl fmt::Display for EpochScores {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "epoch {}: train loss {:.4}, val loss {:.4}, val accuracy {:.2}%, val spam F1 {:.3}",
            self.epoch,
            self.train_loss,
            self.val_loss,
            100.0 * self.val_accuracy,
            self.val_spam_f1
        )
    }
}

impl Score for EpochScores {
    fn step(&self) -> usize {
        self.step
    }

    fn val_loss(&self) -> f64 {
        self.val_loss
    }

    /// The better spam F_1 on validation; the lower validation loss breaks a tie.
    fn better_than(&self, other: &Self) -> bool {
        (self.val_spam_f1, -self.val_loss) > (other.val_spam_f1, -other.val_loss)
    }
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

// ANCHOR: task
/// Fine-tuning a classifier on labelled messages: what chapter 7 gives the training kit's loop. An epoch is one
/// pass over the training messages in a new random order, in batches of `batch_size`.
pub struct FineTuning<'a> {
    pub state: ClassifierState,
    pub encoder: TextEncoder,
    /// The encoder's tokenizer as its file, which checkpoints hold.
    tokenizer_file: String,
    pub train: &'a [Message],
    pub val: &'a [Message],
    /// The current epoch's order of the training messages, shuffled at its first step.
    order: Vec<&'a Message>,
    rng: SplitMix64,
}

impl<'a> Task for FineTuning<'a> {
    type Model = Classifier;
    type Batch = Batch;
    type Score = EpochScores;
    type State = ClassifierState;
    type Error = ClassifyError;
    const UNIT: &'static str = "examples";
    const KIND: &'static str = "chapter 7's classifier (`classify train`)";

    fn batch(&mut self, step: usize, device: &Device) -> Result<Batch, ClassifyError> {
        let messages = self.messages(step);
        make_batch(&self.encoder, &messages, self.state.classifier.max_len, device)
    }

    fn size(&self, batch: &Batch) -> usize {
        batch.labels.dims()[0]
    }

    fn loss(&self, model: &Classifier, batch: Batch) -> Tensor<1> {
        cross_entropy(model.forward(batch.tokens, batch.padding), batch.labels)
    }

    /// The validation split's loss, accuracy and spam F_1, and the epoch's mean training loss.
    fn evaluate(
        &mut self,
        model: &Classifier,
        step: usize,
        history: &[LossPoint],
        device: &Device,
    ) -> Result<EpochScores, ClassifyError> {
        let max_len = self.state.classifier.max_len;
        let probabilities = predict(model, &self.encoder, self.val, max_len, 64, device)?;
        let val_report = report(self.val, &probabilities);
        let val_loss = probabilities
            .iter()
            .zip(self.val)
            .map(|(p, m)| -(p[m.label.index()].max(1e-12) as f64).ln())
            .sum::<f64>()
            / self.val.len() as f64;
        // Each step's mean loss times its batch's size: their sum over the epoch is the sum over its messages.
        let batch_size = self.state.config.batch_size;
        let epoch_start = step - self.steps_per_epoch();
        let summed: f64 = history[epoch_start..step]
            .iter()
            .map(|point| {
                let first = (point.step - epoch_start) * batch_size;
                f64::from(point.train_loss) * (self.train.len() - first).min(batch_size) as f64
            })
            .sum();
        Ok(EpochScores {
            epoch: step / self.steps_per_epoch(),
            step,
            train_loss: summed / self.train.len() as f64,
            val_loss,
            val_accuracy: val_report.accuracy,
            val_spam_f1: val_report.per_class[Label::Spam.index()].f1,
        })
    }

    /// LoRA's matrices merged into the weights they adapt.
    fn kept(&self, model: Classifier) -> Classifier {
        model.materialize()
    }

    fn state(&self) -> ClassifierState {
        self.state.clone()
    }

    fn files(&self) -> Vec<(&'static str, Vec<u8>)> {
        vec![(TOKENIZER_FILE, self.tokenizer_file.clone().into_bytes())]
    }
}
// ANCHOR_END: task

impl<'a> FineTuning<'a> {
    fn steps_per_epoch(&self) -> usize {
        self.train.len().div_ceil(self.state.config.batch_size)
    }

    /// The messages of step `step`'s batch: the next `batch_size` of the epoch's order, a new one shuffled at the
    /// epoch's first step. Steps are taken in order.
    pub fn messages(&mut self, step: usize) -> Vec<&'a Message> {
        let (batch_size, steps_per_epoch) = (self.state.config.batch_size, self.steps_per_epoch());
        if step.is_multiple_of(steps_per_epoch) {
            self.order = self.train.iter().collect();
            self.rng.shuffle(&mut self.order);
        }
        let first = (step % steps_per_epoch) * batch_size;
        self.order[first..(first + batch_size).min(self.order.len())].to_vec()
    }
}

// ANCHOR: fine_tune
/// Fine-tunes `pretrained` under `config` on `train`, keeping the epoch with the best spam F_1 on `val` (the
/// lower validation loss breaks a tie), saved as a checkpoint in `checkpoint` if given. `device` must be an
/// autodiff device; `progress` shows the steps.
pub fn fine_tune(
    config: &FineTuneConfig,
    pretrained: Pretrained,
    train: &[Message],
    val: &[Message],
    device: &Device,
    progress: Option<&ProgressBar>,
    checkpoint: Option<&Path>,
) -> Result<FineTuned, ClassifyError> {
    let mut trainer = trainer(config, pretrained, train, val, device)?;
    let throughput = trainer.train(trainer.plan.max_steps, checkpoint, progress)?;
    let best = *trainer.best_score().expect("every epoch is evaluated");
    let trainable_params = trainer.task.state.trainable_params;
    let train_seconds = throughput.seconds - throughput.eval_seconds;
    Ok(FineTuned {
        model: trainer.best.expect("the best model is kept"),
        best_epoch: best.epoch,
        epochs: trainer.evaluations,
        history: trainer.history,
        trainable_params,
        examples_per_second: (train.len() * config.epochs) as f64 / train_seconds,
        train_seconds,
    })
}

/// The training loop of [`fine_tune`], set up and not started: the classifier under the regime, AdamW, the plan
/// and chapter 7's task.
pub fn trainer<'a>(
    config: &FineTuneConfig,
    pretrained: Pretrained,
    train: &'a [Message],
    val: &'a [Message],
    device: &Device,
) -> Result<Trainer<FineTuning<'a>>, ClassifyError> {
    Checks::new("fine-tuning configuration")
        .at_least("epochs", config.epochs, 1)
        .at_least("batch_size", config.batch_size, 1)
        .at_least("max_len", config.max_len, 1)
        .positive("learning_rate", config.learning_rate)
        .non_negative("weight_decay", config.weight_decay)
        .positive("grad_clip", config.grad_clip)
        .in_range("head_dropout", config.head_dropout, 0.0, 1.0)
        .at_least("lora.rank", config.lora.rank, 1)
        .positive("lora.alpha", config.lora.alpha)
        .finish()?;
    if train.is_empty() || val.is_empty() {
        return Err(ClassifyError::EmptySplit);
    }
    device.seed(config.seed);
    let architecture = pretrained.architecture;
    let width = architecture.size().width;
    let model = Classifier::new(pretrained.backbone, width, config.pooling, config.head_dropout, device)
        .for_regime(config.regime, &config.lora);
    let trainable_params = num_trainable_params(&model);
    let optimizer: ModuleOptimizer = adamw(
        &AdamWConfig::new().with_weight_decay(config.weight_decay as f32),
        &model,
    );
    let steps_per_epoch = train.len().div_ceil(config.batch_size);
    let total_steps = steps_per_epoch * config.epochs;
    // An evaluation after each epoch, the best model kept; dropout draws from the device's generator as it runs on.
    let plan = Plan {
        max_steps: total_steps,
        schedule: WarmupCosine::fine_tuning(config.learning_rate, total_steps),
        grad_clip: config.grad_clip,
        eval_interval: steps_per_epoch,
        evaluate_first: false,
        read_every: 10,
        dropout_seed: None,
        keep: Keep::Best,
    };
    let tokenizer_file = pretrained.encoder.to_file()?;
    let task = FineTuning {
        state: ClassifierState {
            classifier: ClassifierSpec {
                backbone: config.backbone,
                max_len: config.max_len.min(architecture.context()),
                architecture,
                pooling: config.pooling,
            },
            config: config.clone(),
            trainable_params,
            tokenizer_sha256: Some(sha256_hex(tokenizer_file.as_bytes())),
        },
        tokenizer_file,
        encoder: pretrained.encoder,
        train,
        val,
        order: Vec::new(),
        rng: SplitMix64::new(config.seed),
    };
    Ok(Trainer::new(task, model, optimizer, plan, device))
}

// ANCHOR_END: fine_tune
