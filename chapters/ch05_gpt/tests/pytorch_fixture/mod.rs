//! PyTorch's three training steps of a small GPT (a committed fixture, see `fixtures/make_pytorch_fixture.py`): its
//! initial weights, batches, losses and trained weights, and the same steps taken by any task of the kit's loop on
//! chapter 5's model. Shared by chapter 5's reference test and the appendix's, which plugs its kernels in.

use std::collections::HashMap;
use std::sync::OnceLock;

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use common::testing::{max_abs_diff, values};
use common::train::{Task, Trainer};
use gpt::bench::{synthetic_tokenizer, synthetic_tokens};
use gpt::training::Windows;
use gpt::{Gpt, GptConfig, RunConfig, TrainingConfig};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Step {
    pub x: Vec<i64>,
    pub y: Vec<i64>,
    pub loss: f32,
    /// The global gradient norm before clipping.
    pub grad_norm: f32,
    pub learning_rate: f64,
}

#[derive(Deserialize)]
pub struct Fixture {
    pub vocab_size: usize,
    pub block_size: usize,
    pub n_layer: usize,
    pub n_head: usize,
    pub n_embd: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub min_lr: f64,
    pub warmup_iters: usize,
    pub lr_decay_iters: usize,
    pub weight_decay: f64,
    beta1: f64,
    beta2: f64,
    pub grad_clip: f64,
    /// Parameter path (`blocks.0.attention.w_q.weight`) to its values, in burn's layout.
    pub initial: HashMap<String, Vec<f32>>,
    pub steps: Vec<Step>,
    pub trained: HashMap<String, Vec<f32>>,
}

pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let text = include_str!("../../fixtures/pytorch_gpt.json");
        serde_json::from_str(text).expect("fixtures/pytorch_gpt.json is valid")
    })
}

pub fn run_config(f: &Fixture) -> RunConfig {
    let model = GptConfig::new(f.vocab_size)
        .with_block_size(f.block_size)
        .with_n_layer(f.n_layer)
        .with_n_head(f.n_head)
        .with_n_embd(f.n_embd);
    let training = TrainingConfig::new()
        .with_batch_size(f.batch_size)
        .with_max_iters(f.steps.len())
        .with_learning_rate(f.learning_rate)
        .with_min_lr(f.min_lr)
        .with_warmup_iters(f.warmup_iters)
        .with_lr_decay_iters(f.lr_decay_iters)
        .with_weight_decay(f.weight_decay)
        .with_beta1(f.beta1)
        .with_beta2(f.beta2)
        .with_grad_clip(f.grad_clip);
    RunConfig::new(model, training)
}

/// Every parameter's path and values.
#[derive(Default)]
struct ReadWeights {
    path: Vec<String>,
    weights: Vec<(String, Vec<f32>)>,
}

impl ModuleVisitor for ReadWeights {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.weights.push((self.path.join("."), values(param.val())));
    }
}

pub fn weights(model: &Gpt) -> Vec<(String, Vec<f32>)> {
    let mut read = ReadWeights::default();
    model.visit(&mut read);
    read.weights
}

fn batch(ids: &[i64], f: &Fixture, device: &Device) -> Tensor<2, Int> {
    Tensor::from_data(TensorData::new(ids.to_vec(), [f.batch_size, f.block_size]), device)
}

/// A run of the fixture's configuration from its initial weights (the batches the task would draw are not used).
pub fn trainer(device: &Device) -> gpt::Trainer {
    let config = run_config(fixture());
    let vocab_size = config.model.vocab_size;
    let data = synthetic_tokens(vocab_size, 1000, 0);
    let mut trainer = gpt::trainer(config, data, synthetic_tokenizer(vocab_size), device).unwrap();
    trainer.model = trainer.model.with_named_weights(&fixture().initial).unwrap();
    trainer
}

/// The fixture's three steps taken by `trainer` (from [`trainer`], or a plug-in's task on it): the losses, and the
/// trained model.
pub fn train<T: Task<Model = Gpt, Batch = Windows>>(mut trainer: Trainer<T>) -> (Vec<f32>, Gpt) {
    let f = fixture();
    let device = trainer.device().clone();
    for step in &f.steps {
        trainer.train_step_on((batch(&step.x, f, &device), batch(&step.y, f, &device)));
    }
    trainer.read_losses().map_err(|_| "a loss could not be read").unwrap();
    let losses = trainer.history.iter().map(|point| point.train_loss).collect();
    (losses, trainer.model)
}

/// Checks that the `losses` and the `model` of [`train`] are PyTorch's, on the backend `name`.
pub fn assert_matches_pytorch(name: &str, losses: &[f32], model: &Gpt) {
    let f = fixture();
    for (i, (ours, step)) in losses.iter().zip(&f.steps).enumerate() {
        // Otherwise the fixture would not test clipping.
        assert!(
            f64::from(step.grad_norm) > f.grad_clip,
            "step {i} of the fixture is not clipped"
        );
        assert!(
            (ours - step.loss).abs() < 1e-5,
            "{name}, step {i}: loss {ours}, PyTorch's {}",
            step.loss
        );
        let rate = run_config(f).training.schedule().at(i);
        assert!(
            (rate - step.learning_rate).abs() < 1e-12,
            "step {i}: learning rate {rate}"
        );
    }
    let trained = weights(model);
    assert_eq!(trained.len(), f.trained.len(), "the same parameters as PyTorch's model");
    for (path, ours) in trained {
        let theirs = &f.trained[&path];
        let worst = max_abs_diff(&ours, theirs);
        // Each step moves a weight by up to the learning rate (1e-2); the errors stay 1,000 times smaller on
        // flex (7e-7 measured). wgpu sums in other orders and has its own GELU (1e-5 measured on lavapipe).
        let tolerance = if name.starts_with("wgpu") { 5e-5 } else { 1e-5 };
        assert!(
            worst < tolerance,
            "{name}, {path}: differs from PyTorch by up to {worst:e}"
        );
    }
}
