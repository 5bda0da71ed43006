use approx::assert_abs_diff_eq;
use attention::naive::naive_attention;
use attention::{SelfAttentionConfig, causal_mask, masked_softmax, padding_mask, scaled_dot_product_attention};
use burn::prelude::*;
use burn::tensor::Tolerance;
use burn::tensor::activation::softmax;
use common::testing::{assert_input_gradient_matches_finite_differences, backends, values};
use proptest::prelude::*;

fn tensor3(data: &[f32], shape: [usize; 3], device: &Device) -> Tensor<3> {
    Tensor::<1>::from_floats(data, device).reshape(shape)
}

fn rows(data: &[f32], width: usize) -> Vec<Vec<f32>> {
    data.chunks(width).map(<[f32]>::to_vec).collect()
}

/// `n` floats in [-2, 2].
fn floats(n: usize) -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(-2.0f32..2.0, n)
}

#[test]
fn attention_matches_a_hand_computed_example() {
    // q = k = I (2x2), v = [[1, 2], [3, 4]]: the scores are I / sqrt(2), so query 0 weights key 0 by
    // e^(1/√2) / (e^(1/√2) + 1) and key 1 by 1 / (e^(1/√2) + 1).
    let device = &Device::flex();
    let eye = tensor3(&[1.0, 0.0, 0.0, 1.0], [1, 2, 2], device);
    let v = tensor3(&[1.0, 2.0, 3.0, 4.0], [1, 2, 2], device);
    let attention = scaled_dot_product_attention(eye.clone(), eye, v, None);
    let a = std::f64::consts::FRAC_1_SQRT_2.exp() / (std::f64::consts::FRAC_1_SQRT_2.exp() + 1.0);
    let a_other = 1.0 - a;
    let weights = values(attention.weights);
    for (got, want) in weights.iter().zip([a, a_other, a_other, a]) {
        assert_abs_diff_eq!(*got as f64, want, epsilon = 1e-6);
    }
    assert_abs_diff_eq!(a, 0.669_762, epsilon = 1e-6);
    let output = values(attention.output);
    let expected = [
        a + 3.0 * a_other,
        2.0 * a + 4.0 * a_other,
        a_other + 3.0 * a,
        2.0 * a_other + 4.0 * a,
    ];
    for (got, want) in output.iter().zip(expected) {
        assert_abs_diff_eq!(*got as f64, want, epsilon = 1e-5);
    }
}

#[test]
fn softmax_survives_huge_scores_and_fully_masked_rows() {
    let device = &Device::flex();
    let x = Tensor::<2>::from_floats([[1000.0, 1001.0, 999.0], [5.0, 6.0, 7.0]], device);
    let allowed = Tensor::<2, Bool>::from_bool(TensorData::from([[true, true, true], [false, false, false]]), device);
    let y = values(masked_softmax(x, Some(allowed), 1));
    let total = 1.0 + std::f64::consts::E + (-1.0f64).exp();
    for (got, want) in y.iter().zip([
        1.0 / total,
        std::f64::consts::E / total,
        (-1.0f64).exp() / total,
        0.0,
        0.0,
        0.0,
    ]) {
        assert_abs_diff_eq!(*got as f64, want, epsilon = 1e-6);
    }
}

#[test]
fn causal_and_padding_masks_have_the_right_shape() {
    let device = &Device::flex();
    let causal = causal_mask(3, device).to_data();
    causal.assert_eq(
        &TensorData::from([[true, false, false], [true, true, false], [true, true, true]]),
        false,
    );
    let padding = padding_mask(&[2, 3], 3, device).to_data();
    padding.assert_eq(&TensorData::from([[true, true, false], [true, true, true]]), false);
}

proptest! {
    /// Rows of the softmax are probability distributions, equal to burn's own softmax when nothing is masked.
    #[test]
    fn softmax_rows_are_distributions(data in floats(4 * 7), scale in 0.1f32..50.0) {
        for (_, device) in backends() {
        let x = Tensor::<1>::from_floats(data.as_slice(), device).reshape([4, 7]).mul_scalar(scale);
        let y = masked_softmax(x.clone(), None, 1);
        for row in rows(&values(y.clone()), 7) {
            prop_assert!(row.iter().all(|&p| p >= 0.0));
            prop_assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
        y.to_data().assert_approx_eq::<f32>(&softmax(x, 1).to_data(), Tolerance::absolute(1e-6));
        }
    }

    /// The loop version and the matrix version are the same function.
    #[test]
    fn naive_and_matrix_attention_agree(t in 1usize..7, d_k in 1usize..6, d_v in 1usize..5, causal: bool,
                                        data in floats(7 * 6 * 2 + 7 * 5)) {
        for (_, device) in backends() {
        let (q, rest) = data.split_at(t * d_k);
        let (k, rest) = rest.split_at(t * d_k);
        let v = &rest[..t * d_v];
        let (naive_out, naive_weights) = naive_attention(&rows(q, d_k), &rows(k, d_k), &rows(v, d_v), causal);
        let allowed = causal.then(|| causal_mask(t, device).unsqueeze::<3>());
        let matrix = scaled_dot_product_attention(
            tensor3(q, [1, t, d_k], device), tensor3(k, [1, t, d_k], device), tensor3(v, [1, t, d_v], device), allowed);
        for (got, want) in values(matrix.output).iter().zip(naive_out.concat()) {
            prop_assert!((got - want).abs() < 1e-5);
        }
        for (got, want) in values(matrix.weights).iter().zip(naive_weights.concat()) {
            prop_assert!((got - want).abs() < 1e-6);
        }
        }
    }

    /// A causal model's output at position t depends on positions <= t only: rewriting every input after t leaves
    /// the outputs up to t exactly as they were.
    #[test]
    fn causal_outputs_ignore_the_future(seed in 0u64..1000, t in 0usize..8, x in floats(8 * 6), noise in floats(8 * 6)) {
        for (_, device) in backends() {
        device.seed(seed);
        let attention = SelfAttentionConfig::new(6, 4, 5).init(device);
        let changed: Vec<f32> = x.iter().zip(&noise).enumerate().map(|(i, (a, n))| if i / 6 > t { a + n } else { *a }).collect();
        let before = values(attention.forward(tensor3(&x, [1, 8, 6], device), true, None).output);
        let after = values(attention.forward(tensor3(&changed, [1, 8, 6], device), true, None).output);
        prop_assert_eq!(&before[..(t + 1) * 5], &after[..(t + 1) * 5]);
        }
    }

    /// Without positional information attention treats its input as a set: permuting the tokens permutes the outputs
    /// the same way.
    #[test]
    fn attention_is_permutation_equivariant(seed in 0u64..1000, x in floats(6 * 4), perm in Just((0..6).collect::<Vec<usize>>()).prop_shuffle()) {
        for (_, device) in backends() {
        device.seed(seed);
        let attention = SelfAttentionConfig::new(4, 3, 3).init(device);
        let permuted: Vec<f32> = perm.iter().flat_map(|&p| x[p * 4..(p + 1) * 4].to_vec()).collect();
        let out = rows(&values(attention.forward(tensor3(&x, [1, 6, 4], device), false, None).output), 3);
        let out_permuted = rows(&values(attention.forward(tensor3(&permuted, [1, 6, 4], device), false, None).output), 3);
        for (i, &p) in perm.iter().enumerate() {
            for (a, b) in out_permuted[i].iter().zip(&out[p]) {
                prop_assert!((a - b).abs() < 1e-5);
            }
        }
        }
    }
}

#[test]
fn padding_does_not_change_the_real_positions() {
    let device = &Device::flex();
    device.seed(7);
    let attention = SelfAttentionConfig::new(4, 3, 3).with_bias(true).init(device);
    let real: Vec<f32> = (0..3 * 4).map(|i| (i as f32 * 0.37).sin()).collect();
    let mut padded = real.clone();
    padded.extend([9.0; 2 * 4]); // two padding positions of garbage
    let alone = values(attention.forward(tensor3(&real, [1, 3, 4], device), false, None).output);
    let with_padding = attention.forward(
        tensor3(&padded, [1, 5, 4], device),
        false,
        Some(padding_mask(&[3], 5, device)),
    );
    for (a, b) in values(with_padding.output)[..3 * 3].iter().zip(&alone) {
        assert_abs_diff_eq!(a, b, epsilon = 1e-6);
    }
    // No query puts any weight on a padding key.
    for row in rows(&values(with_padding.weights), 5) {
        assert_eq!(&row[3..], [0.0, 0.0]);
    }
}

#[test]
fn scaling_keeps_the_logits_at_unit_variance() {
    for (name, device) in backends() {
        device.seed(1);
        let d_k = 64;
        let normal = burn::tensor::Distribution::Normal(0.0, 1.0);
        let q = Tensor::<2>::random([16384, d_k], normal, device);
        let k = Tensor::<2>::random([16384, d_k], normal, device);
        let dot = (q * k).sum_dim(1); // 16384 independent q·k
        let variance = |x: Tensor<2>| {
            let v = values(x);
            let mean = v.iter().sum::<f32>() / v.len() as f32;
            v.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / v.len() as f32
        };
        let unscaled = variance(dot.clone());
        let scaled = variance(dot.div_scalar((d_k as f64).sqrt()));
        assert!(
            (unscaled / d_k as f32 - 1.0).abs() < 0.1,
            "{name}: Var(q·k) = {unscaled}, expected about {d_k}"
        );
        assert!(
            (scaled - 1.0).abs() < 0.1,
            "{name}: Var(q·k/√d_k) = {scaled}, expected about 1"
        );
    }
}

#[test]
fn gradients_match_central_finite_differences() {
    for (name, device) in backends() {
        let device = &device.clone().autodiff();
        device.seed(3);
        let attention = SelfAttentionConfig::new(4, 3, 3).with_bias(true).init(device);
        assert_input_gradient_matches_finite_differences(
            device,
            [1, 5, 4],
            |x| attention.forward(x, true, None).output,
            name,
        );
    }
}

#[test]
fn cpu_and_wgpu_agree() {
    let (_, cpu) = &backends()[0];
    cpu.seed(11);
    let attention = SelfAttentionConfig::new(16, 8, 8).with_bias(true).init(cpu);
    let x: Vec<f32> = (0..2 * 12 * 16).map(|i| (i as f32 * 0.13).sin()).collect();
    let lengths = [12, 7];
    let reference = attention.forward(
        tensor3(&x, [2, 12, 16], cpu),
        true,
        Some(padding_mask(&lengths, 12, cpu)),
    );
    for (name, device) in &backends()[1..] {
        eprintln!("checking {name} against flex");
        let moved = attention.clone().to_device(device);
        let got = moved.forward(
            tensor3(&x, [2, 12, 16], device),
            true,
            Some(padding_mask(&lengths, 12, device)),
        );
        got.output
            .to_data()
            .assert_approx_eq::<f32>(&reference.output.to_data(), Tolerance::absolute(1e-4));
        got.weights
            .to_data()
            .assert_approx_eq::<f32>(&reference.weights.to_data(), Tolerance::absolute(1e-5));
    }
}
