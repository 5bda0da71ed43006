//! Helpers the chapters' tests share: every backend made once, and gradients by finite differences.

use std::sync::OnceLock;

use burn::tensor::Device;

use crate::every_backend;

/// [`every_backend`], made once per test binary and shared by all its tests (making a wgpu device is slow).
pub fn backends() -> &'static [(&'static str, Device)] {
    static BACKENDS: OnceLock<Vec<(&'static str, Device)>> = OnceLock::new();
    BACKENDS.get_or_init(every_backend)
}

/// The gradient of `loss` at `x` by central differences: $\partial L / \partial x_i \approx
/// (L(x + \varepsilon e_i) - L(x - \varepsilon e_i)) / 2\varepsilon$, whose error shrinks like $\varepsilon^2$.
pub fn central_differences(loss: impl Fn(&[f32]) -> f32, x: &[f32], eps: f32) -> Vec<f32> {
    (0..x.len())
        .map(|i| {
            let (mut plus, mut minus) = (x.to_vec(), x.to_vec());
            plus[i] += eps;
            minus[i] -= eps;
            (loss(&plus) - loss(&minus)) / (2.0 * eps)
        })
        .collect()
}

/// Panics, naming the first input that differs, unless `analytic` and `numeric` gradients agree within `tolerance`.
pub fn assert_gradients_agree(analytic: &[f32], numeric: &[f32], tolerance: f32, what: &str) {
    assert_eq!(analytic.len(), numeric.len(), "{what}: gradients of different lengths");
    for (i, (a, n)) in analytic.iter().zip(numeric).enumerate() {
        assert!(
            (a - n).abs() < tolerance,
            "{what}, x[{i}]: autodiff {a}, finite differences {n}"
        );
    }
}
