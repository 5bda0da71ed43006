//! Chapter 5's GPT on the kernels against chapter 5's code: logits and gradients, PyTorch's three training steps
//! with the kernels plugged into the training loop, and the same steps with each batch split over threads.

#[path = "../../../ch05_gpt/tests/pytorch_fixture/mod.rs"]
mod pytorch_fixture;

use approx::assert_abs_diff_eq;
use burn::optim::GradientsParams;
use burn::prelude::*;
use common::rng::SplitMix64;
use common::testing::{backends, max_abs_diff, values};
use cpu_speed::gpt::{fast, forward, with_shards};
use gpt::GptConfig;
use gpt::training::{cross_entropy, whole_split_loss};
use pytorch_fixture::{assert_matches_pytorch, train, trainer, weights};
use transformer::Activation;

fn ids(tokens: &[i64], device: &Device) -> Tensor<2, Int> {
    Tensor::from_data(TensorData::new(tokens.to_vec(), [1, tokens.len()]), device)
}

/// Every parameter's gradient in `grads`, in the model's order, as flat values.
struct ParameterGradients {
    grads: GradientsParams,
    values: Vec<Vec<f32>>,
}

impl burn::module::ModuleVisitor for ParameterGradients {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        let grad = self
            .grads
            .get::<D>(param.id)
            .expect("every parameter takes part in the loss");
        self.values.push(values(grad));
    }
}

/// The appendix's kernels compute chapter 5's model: the logits agree to 1e-5 and every parameter's
/// gradient to 1e-5, on both backends, for a model of two blocks with either GELU, the exact one (chapter 5's) and
/// the tanh form (GPT-2's, with biases) (float rounding only: the fused kernels evaluate the same formulas in
/// another order).
#[test]
fn the_appendix_kernels_give_the_textbook_logits_and_gradients() {
    let activations = [Activation::Gelu, Activation::GeluTanh];
    for ((name, device), activation) in backends().iter().flat_map(|b| activations.map(|a| (b, a))) {
        let name = format!("{name}, {activation:?}");
        let autodiff = device.clone().autodiff();
        autodiff.seed(21);
        let config = GptConfig::new(13)
            .with_block_size(9)
            .with_n_layer(2)
            .with_n_head(2)
            .with_n_embd(16)
            .with_bias(activation == Activation::GeluTanh)
            .with_activation(activation);
        let model = config.init(&autodiff);
        let mut rng = SplitMix64::new(5);
        let mut tokens = || (0..3 * 9).map(|_| rng.below(13) as i64).collect::<Vec<_>>();
        let (x, y) = (
            ids(&tokens(), &autodiff).reshape([3, 9]),
            ids(&tokens(), &autodiff).reshape([3, 9]),
        );
        let gradients = |logits: Tensor<3>| {
            let loss = cross_entropy(logits.clone(), y.clone());
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            let mut visitor = ParameterGradients {
                grads,
                values: Vec::new(),
            };
            model.visit(&mut visitor);
            (values(logits), visitor.values)
        };
        let (plain_logits, plain_grads) = gradients(model.forward(x.clone()));
        let (fast_logits, fast_grads) = gradients(forward(&model, x.clone()));
        let worst = max_abs_diff(&plain_logits, &fast_logits);
        assert!(worst < 1e-5, "{name}: logits differ by up to {worst:e}");
        assert_eq!(plain_grads.len(), fast_grads.len());
        for (index, (plain, fast)) in plain_grads.iter().zip(&fast_grads).enumerate() {
            let worst = max_abs_diff(plain, fast);
            assert!(
                worst < 1e-5,
                "{name}: parameter {index}'s gradients differ by up to {worst:e}"
            );
        }
    }
}

#[test]
fn three_training_steps_on_the_kernels_match_pytorch() {
    for (name, device) in backends() {
        let (losses, model) = train(with_shards(trainer(&device.clone().autodiff()), 1));
        assert_matches_pytorch(&format!("{name}, the appendix's kernels"), &losses, &model);
    }
}

#[test]
fn a_batch_split_over_threads_takes_the_same_steps() {
    let device = Device::flex().autodiff();
    let (one_pass, model) = train(with_shards(trainer(&device), 1));
    for shards in [2, 3, 9] {
        // 9 > the batch of 4: as many slices as sequences
        let (split, split_model) = train(with_shards(trainer(&device), shards));
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

/// The loss over a whole split, computed on the kernels over two threads, is chapter 5's.
#[test]
fn the_whole_split_loss_on_threads_is_chapter_5s() {
    let device = Device::flex().autodiff();
    let plain = trainer(&device);
    let val = plain.task.data.val.clone();
    let expected = whole_split_loss(&plain, &val).unwrap();
    let split = with_shards(plain, 2);
    assert_eq!(split.task.shards, 2);
    let ours = whole_split_loss(&split, &val).unwrap();
    assert!((ours - expected).abs() < 1e-6 * expected, "{ours} vs {expected}");
    assert_eq!(fast(trainer(&device)).task.shards, rayon::current_num_threads().min(4));
}
