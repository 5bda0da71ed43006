//! Three training steps of our GPT against PyTorch's, from the same weights on the same batches (a committed
//! fixture, see `fixtures/make_pytorch_fixture.py`): the losses check the forward pass, the weights after three
//! steps check the gradients, the clipping, the schedule and AdamW with its two parameter groups, on flex and on
//! wgpu, for chapter 5's code and for the appendix's kernels (`gpt::fast`). Then the same steps split over threads
//! ([`Trainer::with_shards`]) must give the same numbers.

use std::collections::HashMap;
use std::sync::OnceLock;

use approx::assert_abs_diff_eq;
use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use common::testing::{backends, max_abs_diff, values};
use gpt::training::Forward;
use gpt::{Gpt, GptConfig, RunConfig, Trainer, TrainingConfig};
use serde::Deserialize;

#[derive(Deserialize)]
struct Step {
    x: Vec<i64>,
    y: Vec<i64>,
    loss: f32,
    /// The global gradient norm before clipping.
    grad_norm: f32,
    learning_rate: f64,
}

#[derive(Deserialize)]
struct Fixture {
    vocab_size: usize,
    block_size: usize,
    n_layer: usize,
    n_head: usize,
    n_embd: usize,
    batch_size: usize,
    learning_rate: f64,
    min_lr: f64,
    warmup_iters: usize,
    lr_decay_iters: usize,
    weight_decay: f32,
    beta1: f32,
    beta2: f32,
    grad_clip: f32,
    /// Parameter path (`blocks.0.attention.w_q.weight`) to its values, in burn's layout.
    initial: HashMap<String, Vec<f32>>,
    steps: Vec<Step>,
    trained: HashMap<String, Vec<f32>>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let text = include_str!("../fixtures/pytorch_gpt.json");
        serde_json::from_str(text).expect("fixtures/pytorch_gpt.json is valid")
    })
}

fn run_config(f: &Fixture) -> RunConfig {
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

fn weights(model: &Gpt) -> Vec<(String, Vec<f32>)> {
    let mut read = ReadWeights::default();
    model.visit(&mut read);
    read.weights
}

fn batch(ids: &[i64], f: &Fixture, device: &Device) -> Tensor<2, Int> {
    Tensor::from_data(TensorData::new(ids.to_vec(), [f.batch_size, f.block_size]), device)
}

/// The fixture's three steps with our trainer computing with `forward`, its batch split in `shards`: the losses,
/// and the trained model.
fn train(forward: Forward, shards: usize, device: &Device) -> (Vec<f32>, Gpt) {
    let f = fixture();
    let config = run_config(f);
    let mut trainer = Trainer::new(config.clone(), device)
        .with_forward(forward)
        .with_shards(shards);
    trainer.model = config.model.init(device).with_named_weights(&f.initial).unwrap();
    for step in &f.steps {
        trainer.train_step_on(batch(&step.x, f, device), batch(&step.y, f, device));
    }
    trainer.read_losses().unwrap();
    let losses = trainer.history.iter().map(|point| point.train_loss).collect();
    (losses, trainer.model)
}

#[test]
fn three_training_steps_match_pytorch() {
    let f = fixture();
    let paths: [(&str, Forward); 2] = [
        ("chapter 5's code", Gpt::forward),
        ("the appendix's kernels", gpt::fast::forward),
    ];
    for ((name, device), (path, forward)) in backends().iter().flat_map(|b| paths.iter().map(move |p| (b, p))) {
        let name = format!("{name}, {path}");
        let (losses, model) = train(*forward, 1, &device.clone().autodiff());
        for (i, (ours, step)) in losses.iter().zip(&f.steps).enumerate() {
            // Otherwise the fixture would not test clipping.
            assert!(step.grad_norm > f.grad_clip, "step {i} of the fixture is not clipped");
            assert!(
                (ours - step.loss).abs() < 1e-5,
                "{name}, step {i}: loss {ours}, PyTorch's {}",
                step.loss
            );
            assert_abs_diff_eq!(
                run_config(f).training.schedule().at(i),
                step.learning_rate,
                epsilon = 1e-12
            );
        }
        let trained = weights(&model);
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
}

#[test]
fn a_batch_split_over_threads_takes_the_same_steps() {
    let device = Device::flex().autodiff();
    let (one_pass, model) = train(gpt::fast::forward, 1, &device);
    for shards in [2, 3, 9] {
        // 9 > the batch of 4: as many slices as sequences
        let (split, split_model) = train(gpt::fast::forward, shards, &device);
        for (a, b) in one_pass.iter().zip(&split) {
            assert_abs_diff_eq!(a, b, epsilon = 1e-5);
        }
        for ((path, x), (_, y)) in weights(&model).iter().zip(&weights(&split_model)) {
            let worst = max_abs_diff(x, y);
            assert!(
                worst < 1e-6,
                "{shards} shards, {path}: differs from one pass by up to {worst:e}"
            );
        }
    }
}

#[test]
fn weights_that_do_not_fit_are_an_error_naming_the_parameter() {
    let f = fixture();
    let model = run_config(f).model.init(&Device::flex());
    let mut missing = f.initial.clone();
    missing.remove("final_norm.gamma");
    let error = model.clone().with_named_weights(&missing).unwrap_err().to_string();
    assert!(error.contains("no values for final_norm.gamma"), "{error}");
    let mut short = f.initial.clone();
    short.get_mut("blocks.1.mlp.linear_1.weight").unwrap().pop();
    let error = model.with_named_weights(&short).unwrap_err().to_string();
    assert!(
        error.contains("blocks.1.mlp.linear_1.weight has 1023 values, not 1024"),
        "{error}"
    );
}
