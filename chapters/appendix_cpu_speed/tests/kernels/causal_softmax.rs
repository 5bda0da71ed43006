//! The fused causal softmax: chapter 2's masked softmax under the causal mask, value for value and gradient for
//! gradient, on every backend, with or without gradients tracked, and with earlier keys cached.

use attention::masked_softmax;
use burn::prelude::*;
use burn::tensor::Distribution;
use common::testing::{assert_input_gradient_matches_finite_differences, backends, max_abs_diff, values};
use cpu_speed::causal_softmax::causal_softmax;
use proptest::prelude::*;

/// Chapter 2's way: scale, then [`masked_softmax`] with query i allowed keys 0..=past + i.
fn chapter_2<const D: usize>(scores: Tensor<D>, scale: f64, past: usize) -> Tensor<D> {
    let shape = scores.shape();
    let (t_q, t_k) = (shape[D - 2], shape[D - 1]);
    // `tril_mask` marks the entries above the `past`-th diagonal; the allowed ones are the others.
    let allowed = Tensor::<2, Bool>::tril_mask([t_q, t_k], past as i64, &scores.device()).bool_not();
    let allowed = allowed.unsqueeze::<D>().expand(shape);
    masked_softmax(scores * scale, Some(allowed), D - 1)
}

#[test]
fn it_matches_a_hand_computed_example() {
    // Two queries after one cached key (past = 1), three keys. Scale 2, so the exponents are 2x.
    let ln = |x: f32| x.ln() / 2.0;
    let scores = [[ln(1.0), ln(3.0), 9.0], [ln(2.0), ln(2.0), ln(4.0)]];
    for (name, device) in backends() {
        let weights = values(causal_softmax(Tensor::<2>::from_floats(scores, device), 2.0, 1));
        // Query 0 sees keys 0 and 1: e^0 : e^{ln 3} = 1 : 3. Query 1 sees all three: 2 : 2 : 4.
        let expected = [0.25, 0.75, 0.0, 0.25, 0.25, 0.5];
        assert!(max_abs_diff(&weights, &expected) < 1e-6, "{name}: {weights:?}");
    }
}

#[test]
fn tracking_gradients_does_not_change_the_output() {
    for (name, device) in backends() {
        let x = Tensor::<4>::random([2, 3, 5, 5], Distribution::Normal(0.0, 2.0), device);
        let untracked = values(causal_softmax(x.clone(), 0.5, 0));
        let tracked = values(causal_softmax(x.autodiff().require_grad(), 0.5, 0));
        assert_eq!(untracked, tracked, "{name}");
    }
}

#[test]
fn its_gradient_is_that_of_chapter_2s_steps() {
    for (name, device) in backends() {
        let device = &device.clone().autodiff();
        let shape = [2, 2, 3, 7]; // three queries after four cached keys
        let n = shape.iter().product::<usize>();
        let x_data: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin() * 4.0).collect();
        let upstream: Vec<f32> = (0..n).map(|i| (i as f32 * 1.3).cos()).collect();
        let gradient = |softmax: fn(Tensor<4>, f64, usize) -> Tensor<4>| {
            let x = Tensor::<1>::from_floats(x_data.as_slice(), device)
                .reshape(shape)
                .require_grad();
            let r = Tensor::<1>::from_floats(upstream.as_slice(), device).reshape(shape);
            let loss = (softmax(x.clone(), 0.7, 4) * r).sum();
            values(x.grad(&loss.backward()).expect("the loss depends on x"))
        };
        let (ours, theirs) = (gradient(causal_softmax), gradient(chapter_2));
        assert!(max_abs_diff(&ours, &theirs) < 1e-6, "{name}: {ours:?}\nvs {theirs:?}");
        // The keys after each query's position get no gradient: query 0 sees keys 0..=4 of 7.
        assert_eq!(&ours[5..7], &[0.0, 0.0], "{name}");
    }
}

#[test]
fn its_gradient_matches_central_finite_differences() {
    for (name, device) in backends() {
        assert_input_gradient_matches_finite_differences(
            &device.clone().autodiff(),
            [2, 6, 6],
            |x| causal_softmax(x, 0.8, 0) * 3.0,
            name,
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// For any shape, scale and number of cached keys: chapter 2's weights, so rows that sum to 1 and zeros after
    /// each query's position.
    #[test]
    fn it_is_chapter_2s_masked_softmax(
        t_q in 1usize..20,
        past in 0usize..12,
        scale in 0.05f64..3.0,
        seed in 0u64..1000,
    ) {
        let t_k = t_q + past;
        for (name, device) in backends() {
            let data: Vec<f32> = (0..3 * t_q * t_k)
                .map(|i| ((i as u64 * 2_654_435_761 + seed) % 1000) as f32 / 50.0 - 10.0)
                .collect();
            let scores = Tensor::<1>::from_floats(data.as_slice(), device).reshape([3, t_q, t_k]);
            let ours = values(causal_softmax(scores.clone(), scale, past));
            let theirs = values(chapter_2(scores, scale, past));
            prop_assert!(max_abs_diff(&ours, &theirs) < 1e-6, "{}: t_q {}, past {}", name, t_q, past);
            for (row, weights) in ours.chunks(t_k).enumerate() {
                let seen = past + row % t_q + 1;
                prop_assert!((weights.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{}: row {}", name, row);
                prop_assert!(weights[seen..].iter().all(|&w| w == 0.0), "{}: row {}", name, row);
            }
        }
    }
}
