//! Softmax that neither overflows nor returns NaN.

use burn::prelude::*;

// ANCHOR: masked_softmax
/// softmax(x)_j = e^(x_j - m) / Σ_l e^(x_l - m) along `dim`, where only the positions with
/// `allowed = true` take part and m is their maximum.
///
/// Subtracting m changes nothing mathematically (it cancels) but keeps every exponent ≤ 0, so e^x never
/// overflows however large the scores are. A row in which nothing is allowed (a query that may attend to no key,
/// as for a padding position) comes out as all zeros instead of the 0/0 = NaN a naive softmax gives.
pub fn masked_softmax<const D: usize>(x: Tensor<D>, allowed: Option<Tensor<D, Bool>>, dim: usize) -> Tensor<D> {
    let x = match &allowed {
        Some(allowed) => x.mask_fill(allowed.clone().bool_not(), f32::NEG_INFINITY),
        None => x,
    };
    // A fully masked row has maximum -inf; use 0 there so that x - m stays -inf (and e^(x - m) = 0), not NaN.
    let m = x.clone().max_dim(dim);
    let m = m.clone().mask_fill(m.is_inf(), 0.0);
    let e = (x - m).exp();
    // Such a row sums to 0: dividing by a tiny positive number instead keeps its zeros.
    let sum = e.clone().sum_dim(dim).clamp_min(f32::MIN_POSITIVE);
    e / sum
}
// ANCHOR_END: masked_softmax
