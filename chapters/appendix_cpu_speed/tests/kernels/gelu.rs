//! The fused GELU kernels, exact and tanh form: the same function and derivative as burn's GELU and as the
//! formulas, on every backend, with or without gradients tracked.

use burn::prelude::*;
use burn::tensor::activation;
use common::testing::{assert_input_gradient_matches_finite_differences, backends, values};
use cpu_speed::gelu::{gelu, gelu_and_derivative, gelu_tanh, gelu_tanh_and_derivative};
use proptest::prelude::*;

/// Φ(x) = ½ + ∫_0^x φ(t) dt in `f64` by Simpson's rule on 2,000 intervals: a reference that
/// shares nothing with any `erf` formula, accurate far beyond `f32`'s precision.
fn normal_cdf(x: f64) -> f64 {
    let density = |t: f64| (-t * t / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let n = 2_000;
    let h = x / n as f64;
    let sum: f64 = (0..=n)
        .map(|i| {
            let weight = if i == 0 || i == n {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            };
            weight * density(i as f64 * h)
        })
        .sum();
    0.5 + sum * h / 3.0
}

#[test]
fn the_kernel_gives_gelu_and_its_derivative_to_float_precision() {
    let mut worst = (0.0f64, 0.0f64);
    for i in -1_200..=1_200 {
        let x = i as f32 / 100.0;
        let (y, derivative) = gelu_and_derivative(x);
        let (x64, cdf) = (x as f64, normal_cdf(x as f64));
        let density = (-x64 * x64 / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let (expected_y, expected_derivative) = (x64 * cdf, cdf + x64 * density);
        worst.0 = worst.0.max((y as f64 - expected_y).abs() / (1.0 + expected_y.abs()));
        worst.1 = worst.1.max((derivative as f64 - expected_derivative).abs());
    }
    // Abramowitz and Stegun's erf is good to 1.5e-7; f32 rounding adds about as much.
    assert!(worst.0 < 4e-7, "GELU off by {:e} (relative to 1 + |y|)", worst.0);
    assert!(worst.1 < 4e-7, "GELU' off by {:e}", worst.1);
}

#[test]
fn the_tanh_kernel_gives_gpt2s_gelu_and_its_derivative_to_float_precision() {
    let mut worst = (0.0f64, 0.0f64);
    for i in -1_200..=1_200 {
        let x = i as f32 / 100.0;
        let (y, derivative) = gelu_tanh_and_derivative(x);
        let x64 = x as f64;
        let c = (2.0 / std::f64::consts::PI).sqrt();
        let tanh = (c * (x64 + 0.044715 * x64.powi(3))).tanh();
        let expected_y = 0.5 * x64 * (1.0 + tanh);
        let expected_derivative =
            0.5 * (1.0 + tanh) + 0.5 * x64 * (1.0 - tanh * tanh) * c * (1.0 + 3.0 * 0.044715 * x64 * x64);
        worst.0 = worst.0.max((y as f64 - expected_y).abs() / (1.0 + expected_y.abs()));
        worst.1 = worst.1.max((derivative as f64 - expected_derivative).abs());
    }
    assert!(worst.0 < 4e-7, "GELU off by {:e} (relative to 1 + |y|)", worst.0);
    assert!(worst.1 < 4e-7, "GELU' off by {:e}", worst.1);
}

/// A form of GELU: its name, its kernel, the tensor function on it and burn's own function.
type Form = (
    &'static str,
    fn(f32) -> (f32, f32),
    fn(Tensor<2>) -> Tensor<2>,
    fn(Tensor<2>) -> Tensor<2>,
);

const FORMS: [Form; 2] = [
    ("exact", gelu_and_derivative, gelu, activation::gelu),
    (
        "tanh",
        gelu_tanh_and_derivative,
        gelu_tanh,
        activation::gelu_approximate,
    ),
];

/// Every backend with every form.
fn cases() -> impl Iterator<Item = (&'static str, &'static Device, Form)> {
    backends()
        .iter()
        .flat_map(|(name, device)| FORMS.map(|form| (*name, device, form)))
}

#[test]
fn far_from_zero_gelu_is_zero_or_the_identity() {
    for (form, kernel, _, _) in FORMS {
        for x in [-1e4f32, -100.0, -30.0] {
            let (y, derivative) = kernel(x);
            assert!(
                y.abs() < 1e-30 && derivative.abs() < 1e-30,
                "{form}: GELU({x}) = {y}, GELU'({x}) = {derivative}"
            );
        }
        for x in [30.0f32, 100.0, 1e4] {
            assert_eq!(kernel(x), (x, 1.0), "{form}: GELU({x})");
        }
        let (y, derivative) = kernel(0.0);
        assert!(
            y == 0.0 && (derivative - 0.5).abs() < 1e-7,
            "{form}: GELU(0) = {y}, GELU'(0) = {derivative}"
        );
    }
    // The tanh form caps |x| in its slope so that its derivative stays finite, not 0·∞, however large |x| is.
    assert_eq!(gelu_tanh_and_derivative(1e30), (1e30, 1.0));
    let (y, derivative) = gelu_tanh_and_derivative(-1e30);
    assert!(
        y == 0.0 && derivative.abs() < 1e-30,
        "GELU(-1e30) = {y}, GELU'(-1e30) = {derivative}"
    );
}

#[test]
fn it_computes_burns_gelu_on_every_backend() {
    let x: Vec<f32> = (-400..400).map(|i| i as f32 / 40.0).collect();
    for (name, device, (form, _, fused, burns_gelu)) in cases() {
        let x = Tensor::<1>::from_floats(x.as_slice(), device).reshape([20, 40]);
        let ours = values(fused(x.clone()));
        let burns = values(burns_gelu(x.clone()));
        for ((ours, burns), x) in ours.iter().zip(&burns).zip(values(x)) {
            assert!(
                (ours - burns).abs() <= 4e-7 * (1.0 + burns.abs()),
                "{name}, {form}: GELU({x}) = {ours}, burn says {burns}"
            );
        }
    }
}

#[test]
fn a_transposed_input_gives_the_transposed_output() {
    for (name, device, (form, _, fused, _)) in cases() {
        let x = Tensor::<2>::random([6, 9], burn::tensor::Distribution::Normal(0.0, 2.0), device);
        let transposed_first = values(fused(x.clone().transpose()));
        let transposed_after = values(fused(x).transpose());
        assert_eq!(transposed_first, transposed_after, "{name}, {form}");
    }
}

#[test]
fn tracking_gradients_does_not_change_the_output() {
    for (name, device, (form, _, fused, _)) in cases() {
        let x = Tensor::<2>::random([8, 16], burn::tensor::Distribution::Normal(0.0, 2.0), device);
        let untracked = values(fused(x.clone()));
        let tracked = values(fused(x.autodiff().require_grad()));
        assert_eq!(untracked, tracked, "{name}, {form}");
    }
}

#[test]
fn its_gradient_is_burns() {
    for (name, device, (form, _, fused, burns_gelu)) in cases() {
        let device = &device.clone().autodiff();
        let x_data: Vec<f32> = (0..96).map(|i| (i as f32 * 0.37).sin() * 5.0).collect();
        let upstream: Vec<f32> = (0..96).map(|i| (i as f32 * 1.3).cos()).collect();
        let gradient = |activation: fn(Tensor<2>) -> Tensor<2>| {
            let x = Tensor::<1>::from_floats(x_data.as_slice(), device)
                .reshape([8, 12])
                .require_grad();
            let r = Tensor::<1>::from_floats(upstream.as_slice(), device).reshape([8, 12]);
            let loss = (activation(x.clone()) * r).sum();
            values(x.grad(&loss.backward()).expect("the loss depends on x"))
        };
        let (ours, burns) = (gradient(fused), gradient(burns_gelu));
        for (i, (ours, burns)) in ours.iter().zip(&burns).enumerate() {
            assert!(
                (ours - burns).abs() < 1e-6,
                "{name}, {form}, x = {}: {ours} vs burn's {burns}",
                x_data[i]
            );
        }
    }
}

#[test]
fn its_gradient_matches_central_finite_differences() {
    for (name, device, (form, _, fused, _)) in cases() {
        assert_input_gradient_matches_finite_differences(
            &device.clone().autodiff(),
            [2, 5, 7],
            |x| fused(x.reshape([10, 7])).reshape([2, 5, 7]) * 3.0,
            &format!("{name}, {form}"),
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// GELU' is the slope of GELU, in both forms: a secant over a short interval around x has the kernel's
    /// derivative.
    #[test]
    fn the_derivative_is_the_slope(x in -8.0f32..8.0) {
        let h = 1e-2f32;
        for (form, kernel, _, _) in FORMS {
            let secant = (kernel(x + h).0 as f64 - kernel(x - h).0 as f64) / (2.0 * h as f64);
            // The secant's own error is h^2/6 |GELU'''| <= 2e-5, plus rounding of about 1e-7 / h.
            prop_assert!((secant - kernel(x).1 as f64).abs() < 1e-4, "{}, x = {}: secant {}", form, x, secant);
        }
    }
}
