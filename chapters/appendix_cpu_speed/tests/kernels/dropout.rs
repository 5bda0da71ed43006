//! The counter-based dropout: each mask element is the generator's number at its index (whichever thread draws it),
//! elements are kept with probability 1 - p and scaled by 1 / (1 - p), the gradient is the mask, and a mask is the
//! same on both backends.

use burn::prelude::*;
use common::rng::SplitMix64;
use common::testing::{backends, max_abs_diff, values};
use cpu_speed::dropout::{DropoutKeys, dropout, scaled_mask};
use proptest::prelude::*;

/// The mask as one thread draws it: SplitMix64 seeded with the key, one number per element in order.
fn sequential_mask(key: u64, len: usize, p: f64) -> Vec<f32> {
    let mut numbers = SplitMix64::new(key);
    let (threshold, kept) = ((p * 2f64.powi(64)) as u128, (1.0 / (1.0 - p)) as f32);
    (0..len)
        .map(|_| {
            if (numbers.next_u64() as u128) < threshold {
                0.0
            } else {
                kept
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// The mask is drawn on several threads, each element from its index alone: every element is still the
    /// sequence's number at that index.
    #[test]
    fn each_element_is_the_sequences_number_at_its_index(key in any::<u64>(), len in 0usize..40_000, p in 0.05f64..0.95) {
        prop_assert_eq!(scaled_mask(key, len, p), sequential_mask(key, len, p));
    }
}

#[test]
fn elements_are_kept_with_probability_one_minus_p_and_scaled() {
    let n = 200_000;
    for p in [0.1, 0.5, 0.9] {
        let mask = scaled_mask(7, n, p);
        let kept = mask.iter().filter(|&&m| m != 0.0).count();
        // Four standard deviations of a binomial count.
        let (mean, sd) = (n as f64 * (1.0 - p), (n as f64 * p * (1.0 - p)).sqrt());
        assert!((kept as f64 - mean).abs() < 4.0 * sd, "p = {p}: kept {kept} of {n}");
        assert!(mask.iter().all(|&m| m == 0.0 || m == (1.0 / (1.0 - p)) as f32));
    }
}

#[test]
fn keys_differ_by_seed_step_slice_and_site_and_repeat_for_the_same_run() {
    let keys = |seed, step, slice| {
        let mut keys = DropoutKeys::new(seed, step).for_slice(slice);
        (0..4).map(|_| keys.next_key()).collect::<Vec<u64>>()
    };
    assert_eq!(keys(1, 10, 0), keys(1, 10, 0));
    // (0, 11) and (1, 10) would collide if the seed and the step were simply xor-ed.
    let runs = [
        keys(1, 10, 0),
        keys(1, 11, 0),
        keys(2, 10, 0),
        keys(1, 10, 1),
        keys(0, 11, 0),
    ];
    let mut all: Vec<u64> = runs.concat();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 20, "every (seed, step, slice, site) has a key of its own");
    assert_ne!(scaled_mask(runs[0][0], 64, 0.5), scaled_mask(runs[0][1], 64, 0.5));
}

/// While training, y = x ⊙ m / (1 - p) and ∂L/∂x = ∂L/∂y ⊙ m / (1 - p), with the same mask on both backends; without
/// autodiff, or with p = 0, dropout is the identity.
#[test]
fn dropout_multiplies_by_the_mask_forward_and_backward_on_both_backends() {
    let (p, key, n) = (0.3, 42, 6 * 7);
    let mask = scaled_mask(key, n, p);
    let x: Vec<f32> = (0..n).map(|i| (i as f32 - 20.0) / 7.0).collect();
    let upstream: Vec<f32> = (0..n).map(|i| 1.0 + i as f32 / 10.0).collect();
    let mut outputs = Vec::new();
    for (name, device) in backends() {
        let autodiff = device.clone().autodiff();
        let input = Tensor::<2>::from_data(TensorData::new(x.clone(), [6, 7]), &autodiff).require_grad();
        let weights = Tensor::<2>::from_data(TensorData::new(upstream.clone(), [6, 7]), &autodiff);
        let y = dropout(input.clone(), p, key);
        let grads = (y.clone() * weights).sum().backward();
        let expected_y: Vec<f32> = x.iter().zip(&mask).map(|(x, m)| x * m).collect();
        let expected_grad: Vec<f32> = upstream.iter().zip(&mask).map(|(u, m)| u * m).collect();
        assert!(max_abs_diff(&values(y.clone()), &expected_y) < 1e-6, "{name}: output");
        let grad = input.grad(&grads).expect("x takes part in the loss");
        assert!(max_abs_diff(&values(grad), &expected_grad) < 1e-6, "{name}: gradient");
        outputs.push(values(y));

        let plain = Tensor::<2>::from_data(TensorData::new(x.clone(), [6, 7]), device);
        assert_eq!(values(dropout(plain, p, key)), x, "{name}: no autodiff, no dropout");
        let tracked = Tensor::<2>::from_data(TensorData::new(x.clone(), [6, 7]), &autodiff);
        assert_eq!(values(dropout(tracked, 0.0, key)), x, "{name}: p = 0");
    }
    assert_eq!(outputs[0], outputs[1], "flex and wgpu draw the same mask");
}
