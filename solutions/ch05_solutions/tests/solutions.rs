use approx::assert_relative_eq;
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::Distribution;
use ch05_solutions::{bigram_loss, decay_everything, rotary_embedding};
use common::testing::values;
use gpt::RunConfig;
use proptest::prelude::*;

/// q · k for every query/key pair of one head: `[t, t]`.
fn scores(q: Tensor<4>, k: Tensor<4>) -> Vec<f32> {
    values(q.matmul(k.swap_dims(2, 3)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Rotations keep lengths, and shifting every position by the same amount changes no score: RoPE encodes
    /// where tokens stand relative to each other only.
    #[test]
    fn rope_scores_depend_on_relative_position_only(seed in 0u64..1000, shift in 1usize..500) {
        let device = Device::flex();
        device.seed(seed);
        let q = Tensor::<4>::random([1, 2, 6, 8], Distribution::Normal(0.0, 1.0), &device);
        let k = Tensor::<4>::random([1, 2, 6, 8], Distribution::Normal(0.0, 1.0), &device);
        let norms = |x: Tensor<4>| values(x.powi_scalar(2).sum_dim(3));
        for (a, b) in norms(q.clone()).iter().zip(norms(rotary_embedding(q.clone(), shift))) {
            prop_assert!((a - b).abs() < 1e-3 * a.max(1.0));
        }
        let at_zero = scores(rotary_embedding(q.clone(), 0), rotary_embedding(k.clone(), 0));
        let shifted = scores(rotary_embedding(q, shift), rotary_embedding(k, shift));
        for (a, b) in at_zero.iter().zip(&shifted) {
            prop_assert!((a - b).abs() < 2e-3, "{} vs {}", a, b);
        }
    }
}

#[test]
fn rope_at_position_zero_is_the_identity_and_rotates_by_the_stated_angle() {
    let device = Device::flex();
    let x = Tensor::<4>::from_data(TensorData::new(vec![1.0f32, 0.0, 1.0, 0.0], [1, 1, 1, 4]), &device);
    assert_eq!(values(rotary_embedding(x.clone(), 0)), vec![1.0, 0.0, 1.0, 0.0]);
    // Position 1: the first pair turns by 1 radian, the second by 10000^(-1/2) = 0.01 radian.
    let turned = values(rotary_embedding(x, 1));
    let expected = [1f32.cos(), 1f32.sin(), 0.01f32.cos(), 0.01f32.sin()];
    for (got, want) in turned.iter().zip(expected) {
        assert_relative_eq!(*got, want, epsilon = 1e-6);
    }
}

#[test]
fn the_bigram_loss_by_hand() {
    // Training pairs: 0->1 twice, 1->0 once. Without smoothing p(1|0) = 1 and p(0|1) = 1.
    let train = [0, 1, 0, 1];
    assert_relative_eq!(bigram_loss(&train, &[0, 1, 0], 2, 0.0), 0.0);
    // With alpha = 1: p(1|0) = (2 + 1) / (2 + 2) = 3/4, p(0|1) = (1 + 1) / (1 + 2) = 2/3.
    let expected = -((0.75f64).ln() + (2.0f64 / 3.0).ln()) / 2.0;
    assert_relative_eq!(bigram_loss(&train, &[0, 1, 0], 2, 1.0), expected, epsilon = 1e-12);
    // A character never seen first gets the uniform distribution: ln V.
    assert_relative_eq!(bigram_loss(&train, &[2, 0], 3, 1.0), 3f64.ln(), epsilon = 1e-12);
}

#[test]
fn decaying_everything_shrinks_the_layer_norm_gains_too() {
    let device = Device::flex().autodiff();
    let config = RunConfig::tiny(65);
    let model = config.model.init(&device);
    let x = Tensor::<2, Int>::zeros([1, 4], &device);
    let grads = GradientsParams::from_grads(model.forward(x).sum().mul_scalar(0.0).backward(), &model);
    let updated = decay_everything(&config.training).step(0.5, model.clone(), grads);
    let gamma = values(updated.blocks[0].around_attention.norm.gamma.val());
    let shrink = 1.0 - 0.5 * config.training.weight_decay as f32;
    assert!(gamma.iter().all(|&g| (g - shrink).abs() < 1e-6), "{gamma:?}");
    assert_eq!(updated.num_params(), model.num_params());
}
