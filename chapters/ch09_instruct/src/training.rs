//! Fine-tuning on instructions: shuffled batches of examples, the masked cross-entropy, AdamW, and the validation
//! loss on the responses before the first step and after each epoch. The loop is the training kit's
//! ([`common::train::engine`]); this chapter gives it its [`InstructionTuning`] task.

use std::fmt;
use std::path::PathBuf;

use burn::optim::{AdamWConfig, ModuleOptimizer};
use burn::prelude::*;
use common::config::Checks;
use common::device::{layer_activation_floats, read_scalars};
use common::rng::SplitMix64;
use common::train::{Keep, LossPoint, Plan, Score, Task, Trainer, WarmupCosine, adamw, step_seed};
use gpt::{Gpt, GptConfig};
use serde::{Deserialize, Serialize};

use crate::backbone::{Backbone, BackboneKind};
use crate::collate::{TokenizedExample, collate};
use crate::data::Example;
use crate::loss::masked_cross_entropy;
use crate::tokenize::InstructionTokenizer;
use crate::{IGNORE, InstructError};

/// The examples a run learns from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Dataset {
    /// Raschka's 1,100 instructions, split in the file's order as his chapter 7 does.
    Raschka,
    /// The synthetic families ([`crate::synthetic`]), with the book's held-out family.
    Synthetic,
}

// ANCHOR: config
/// Everything a fine-tuning run is made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinetuneConfig {
    pub backbone: BackboneKind,
    pub dataset: Dataset,
    /// Raschka's file as `--data` gave it (`None`: the cached download): a resumed run and `eval` read the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    pub epochs: usize,
    pub batch_size: usize,
    /// The peak learning rate, reached after a warm-up of 10% of the steps, then a half cosine down to a tenth.
    pub learning_rate: f64,
    pub weight_decay: f64,
    pub grad_clip: f64,
    /// Ignore the prompt's targets, so that only the response (and its end-of-text token) is learned.
    pub mask_prompt: bool,
    /// The seed of the synthetic set, the order of the batches, dropout and a random backbone's weights.
    pub seed: u64,
}

impl FinetuneConfig {
    /// The book's settings: Raschka's for GPT-2 (2 epochs of batches of 8, AdamW at 5 · 10⁻⁵, weight decay 0.1; his
    /// rate is constant, here it is the peak of the kit's warm-up and cosine, with the gradient clipped);
    /// chapter 5's small GPT, pretrained at a peak of 10⁻³, is fine-tuned at 10⁻³ as well, and so is its twin of
    /// random weights, so that the two differ in their weights alone. The synthetic set, of short answers the small
    /// model learns slowly, takes 6 epochs. The prompt is masked.
    pub fn new(backbone: BackboneKind, dataset: Dataset) -> Self {
        let learning_rate = match backbone {
            BackboneKind::Gpt | BackboneKind::Scratch => 1e-3,
            BackboneKind::Gpt2 => 5e-5,
        };
        let epochs = match dataset {
            Dataset::Raschka => 2,
            Dataset::Synthetic => 6,
        };
        FinetuneConfig {
            backbone,
            dataset,
            data: None,
            epochs,
            batch_size: 8,
            learning_rate,
            weight_decay: 0.1,
            grad_clip: 1.0,
            mask_prompt: true,
            seed: 1,
        }
    }

    /// About how many bytes a step holds at its peak, in float32, on windows of `t` tokens: the weights, their
    /// gradients and AdamW's two moments, and what every layer keeps for the backward pass
    /// ([`layer_activation_floats`]) plus the logits and their softmax.
    pub fn training_memory_bytes(&self, model: &GptConfig, t: usize) -> u64 {
        let (d, positions) = (model.n_embd, (self.batch_size * t) as u64);
        let per_position =
            model.n_layer as u64 * layer_activation_floats(d, 4 * d, model.n_head, t) + 2 * model.vocab_size as u64;
        (4 * model.num_params() as u64).saturating_add(positions.saturating_mul(per_position)) * 4
    }
}
// ANCHOR_END: config

/// What an instruction-tuned checkpoint's `state.json` holds besides the run's progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstructState {
    pub config: FinetuneConfig,
    /// The backbone's `--from`: a run directory, a GPT-2 name or folder.
    pub from: String,
    /// The model, end-of-text token included.
    pub model: GptConfig,
}

/// The validation loss after some steps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub step: usize,
    /// The mean training loss of the epoch's steps so far (none before the first step).
    pub train_loss: Option<f64>,
    /// The cross-entropy of the validation responses' tokens (the prompt's never count here, masked or not in
    /// training, so that runs of both kinds compare).
    pub val_loss: f64,
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if let Some(train_loss) = self.train_loss {
            write!(f, "train loss {train_loss:.4}, ")?;
        }
        write!(f, "validation loss of the responses {:.4}", self.val_loss)
    }
}

impl Score for Evaluation {
    fn step(&self) -> usize {
        self.step
    }

    fn val_loss(&self) -> f64 {
        self.val_loss
    }
}

/// A step's batch: input and target windows `[batch, t]`.
pub struct InstructBatch {
    pub inputs: Tensor<2, Int>,
    pub targets: Tensor<2, Int>,
}

// ANCHOR: task
/// Fine-tuning on instructions: what chapter 9 gives the training kit's loop. An epoch is one pass over the
/// training examples in an order drawn from the seed and the epoch alone, so a resumed run takes the batches the
/// uninterrupted one took.
pub struct InstructionTuning {
    pub state: InstructState,
    pub tokenizer: InstructionTokenizer,
    tokenizer_files: Vec<(&'static str, Vec<u8>)>,
    pub train: Vec<TokenizedExample>,
    pub val: Vec<TokenizedExample>,
}

impl Task for InstructionTuning {
    type Model = Gpt;
    type Batch = InstructBatch;
    type Score = Evaluation;
    type State = InstructState;
    type Error = InstructError;
    const UNIT: &'static str = "examples";
    const KIND: &'static str = "chapter 9's instruction-tuned GPT (`instruct finetune`)";

    fn batch(&mut self, step: usize, device: &Device) -> Result<InstructBatch, InstructError> {
        let examples = self.examples(step);
        let batch = collate(
            &examples,
            self.end_of_text(),
            self.state.config.mask_prompt,
            self.context(),
        )?;
        let (inputs, targets) = batch.tensors(device);
        Ok(InstructBatch { inputs, targets })
    }

    fn size(&self, batch: &InstructBatch) -> usize {
        batch.inputs.dims()[0]
    }

    fn loss(&self, model: &Gpt, batch: InstructBatch) -> Tensor<1> {
        masked_cross_entropy(model.forward(batch.inputs), batch.targets)
    }

    fn evaluate(
        &mut self,
        model: &Gpt,
        step: usize,
        history: &[LossPoint],
        device: &Device,
    ) -> Result<Evaluation, InstructError> {
        // The steps of the epoch that `step` ends (or, for a run stopped mid-epoch, is in).
        let epoch_start = step.saturating_sub(1) / self.steps_per_epoch() * self.steps_per_epoch();
        let recent: Vec<f64> = (history.iter().filter(|point| (epoch_start..step).contains(&point.step)))
            .map(|point| f64::from(point.train_loss))
            .collect();
        Ok(Evaluation {
            step,
            train_loss: (!recent.is_empty()).then(|| recent.iter().sum::<f64>() / recent.len() as f64),
            val_loss: response_loss(model, &self.val, self.end_of_text(), self.context(), device)?,
        })
    }

    fn state(&self) -> InstructState {
        self.state.clone()
    }

    fn files(&self) -> Vec<(&'static str, Vec<u8>)> {
        self.tokenizer_files.clone()
    }
}
// ANCHOR_END: task

impl InstructionTuning {
    pub fn steps_per_epoch(&self) -> usize {
        self.train.len().div_ceil(self.state.config.batch_size)
    }

    fn end_of_text(&self) -> u32 {
        self.tokenizer.end_of_text()
    }

    fn context(&self) -> usize {
        self.state.model.block_size
    }

    /// The examples of step `step`'s batch: the epoch's order is a shuffle seeded by the run's seed and the epoch.
    pub fn examples(&self, step: usize) -> Vec<TokenizedExample> {
        let (batch_size, steps_per_epoch) = (self.state.config.batch_size, self.steps_per_epoch());
        let mut order: Vec<usize> = (0..self.train.len()).collect();
        SplitMix64::new(step_seed(self.state.config.seed, step / steps_per_epoch)).shuffle(&mut order);
        let first = (step % steps_per_epoch) * batch_size;
        order[first..(first + batch_size).min(order.len())]
            .iter()
            .map(|&i| self.train[i].clone())
            .collect()
    }
}

/// The cross-entropy of `model` on the responses of `examples` (their end-of-text tokens included), over all
/// their tokens together, in batches of 16.
pub fn response_loss(
    model: &Gpt,
    examples: &[TokenizedExample],
    end_of_text: u32,
    context: usize,
    device: &Device,
) -> Result<f64, InstructError> {
    let (mut losses, mut counts) = (Vec::new(), Vec::new());
    for chunk in examples.chunks(16) {
        let batch = collate(chunk, end_of_text, true, context)?;
        counts.push(batch.targets.iter().filter(|&&target| target != IGNORE).count());
        let (inputs, targets) = batch.tensors(device);
        losses.push(masked_cross_entropy(model.forward(inputs), targets));
    }
    // Each batch's mean times its count of targets: their sum over the batches is the sum over every target.
    let means = read_scalars(losses)?;
    let total: f64 = means
        .iter()
        .zip(&counts)
        .map(|(&mean, &n)| f64::from(mean) * n as f64)
        .sum();
    Ok(total / counts.iter().sum::<usize>() as f64)
}

/// The examples that fit a context of `context` tokens, tokenized, and how many did not.
pub fn tokenize_fitting(
    tokenizer: &InstructionTokenizer,
    examples: &[Example],
    context: usize,
) -> Result<(Vec<TokenizedExample>, usize), InstructError> {
    let mut fitting = Vec::with_capacity(examples.len());
    for example in examples {
        let tokens = tokenizer.tokenize(example)?;
        if tokens.prompt.len() + tokens.response.len() <= context {
            fitting.push(tokens);
        }
    }
    let dropped = examples.len() - fitting.len();
    Ok((fitting, dropped))
}

/// Chapter 9's run of the training kit's loop.
pub type InstructTrainer = Trainer<InstructionTuning>;

/// A run set up and not started, and how many training and validation examples were left out for being longer
/// than the context.
pub struct Setup {
    pub trainer: InstructTrainer,
    pub dropped: [usize; 2],
}

// ANCHOR: trainer
/// The training loop of a fine-tuning of `backbone` (on `device`, with autodiff) under `config`, on `train`,
/// evaluated on `val` before the first step and after every epoch. The model kept is the last, as Raschka's is: a
/// checkpoint is then also where a stopped run resumes exactly.
pub fn trainer(
    config: &FinetuneConfig,
    backbone: Backbone,
    from: &str,
    train: &[Example],
    val: &[Example],
    device: &Device,
) -> Result<Setup, InstructError> {
    Checks::new("fine-tuning configuration")
        .at_least("epochs", config.epochs, 1)
        .at_least("batch_size", config.batch_size, 1)
        .positive("learning_rate", config.learning_rate)
        .non_negative("weight_decay", config.weight_decay)
        .positive("grad_clip", config.grad_clip)
        .finish()?;
    let context = backbone.config.block_size;
    let (train_tokens, train_dropped) = tokenize_fitting(&backbone.tokenizer, train, context)?;
    let (val_tokens, val_dropped) = tokenize_fitting(&backbone.tokenizer, val, context)?;
    for (split, examples, tokens) in [("training", train, &train_tokens), ("validation", val, &val_tokens)] {
        if examples.is_empty() {
            return Err(InstructError::EmptySplit { split });
        }
        if tokens.is_empty() {
            let total = examples.len();
            return Err(InstructError::NothingFits { split, total, context });
        }
    }
    let optimizer: ModuleOptimizer = adamw(
        &AdamWConfig::new().with_weight_decay(config.weight_decay as f32),
        &backbone.model,
    );
    let steps_per_epoch = train_tokens.len().div_ceil(config.batch_size);
    let total_steps = steps_per_epoch * config.epochs;
    let plan = Plan {
        max_steps: total_steps,
        schedule: WarmupCosine::fine_tuning(config.learning_rate, total_steps),
        grad_clip: config.grad_clip,
        eval_interval: steps_per_epoch,
        evaluate_first: true,
        read_every: 10,
        dropout_seed: Some(config.seed),
        keep: Keep::Latest,
    };
    let task = InstructionTuning {
        state: InstructState {
            config: config.clone(),
            from: from.to_string(),
            model: backbone.config,
        },
        tokenizer: backbone.tokenizer,
        tokenizer_files: backbone.tokenizer_files,
        train: train_tokens,
        val: val_tokens,
    };
    Ok(Setup {
        trainer: Trainer::new(task, backbone.model, optimizer, plan, device),
        dropped: [train_dropped, val_dropped],
    })
}
// ANCHOR_END: trainer
