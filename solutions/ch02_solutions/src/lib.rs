//! Worked answers to chapter 2's exercises. Each one is tested in `tests/`.
//!
//! 1. [`RelativePositionBias`]: tell attention how far apart two tokens are, by adding a learned bias to the scores.
//! 2. [`attention_entropy`]: how spread out each query's attention is, in nats.
//!
//! 3. *When can a query have no visible key?* With padding on the left, a causal model's first positions are
//!    padding, and the causal mask lets position 0 see only position 0, which the padding mask hides: nothing is
//!    left. A literal softmax computes e^(-∞) / Σ e^(-∞) = 0/0, NaN, and the NaN spreads through every
//!    later layer and into the loss; `masked_softmax` returns a row of zeros, so that position outputs the zero
//!    vector and the loss, which ignores padding, never sees it.

use attention::{Attention, masked_softmax};
use burn::module::Param;
use burn::prelude::*;

// ANCHOR: relative_position_bias
/// Exercise 1. A learned bias b_{j-i} added to the score of query i and key j, one number per offset
/// j - i, clipped to [-D, D] with D = `max_distance` (T5 and Shaw et al. use the same idea):
///
/// a_ij = softmax_j((q_i · k_j)/√d_k + b_{clip(j - i)}).
///
/// Attention by itself is blind to order (chapter 2's permutation test); with this bias it is not, and it knows
/// *relative* positions, so what it learns at one place in a sequence applies at every other.
#[derive(Module, Debug)]
pub struct RelativePositionBias {
    /// `[2 D + 1]`: entry `D + o` is the bias for offset `o = j - i`.
    pub table: Param<Tensor<1>>,
    pub max_distance: usize,
}

impl RelativePositionBias {
    /// A bias of zero for every offset: attention starts out exactly as in chapter 2.
    pub fn zeros(max_distance: usize, device: &Device) -> Self {
        Self {
            table: Param::from_tensor(Tensor::zeros([2 * max_distance + 1], device)),
            max_distance,
        }
    }

    /// The `[t_q, t_k]` matrix B_ij = b_{clip(j - i)}.
    pub fn matrix(&self, t_q: usize, t_k: usize) -> Tensor<2> {
        let device = self.table.device();
        let d = self.max_distance as i64;
        let i = Tensor::<1, Int>::arange(0..t_q as i64, &device).reshape([t_q, 1]);
        let j = Tensor::<1, Int>::arange(0..t_k as i64, &device).reshape([1, t_k]);
        let index = (j - i).clamp(-d, d).add_scalar(d); // [t_q, t_k], each in 0..=2D
        self.table
            .val()
            .select(0, index.reshape([t_q * t_k]))
            .reshape([t_q, t_k])
    }

    /// Chapter 2's scaled dot-product attention with the bias added to the scores: `q: [batch, t_q, d_k]`,
    /// `k: [batch, t_k, d_k]`, `v: [batch, t_k, d_v]`, `allowed: [batch, t_q, t_k]`.
    pub fn attention(
        &self,
        q: Tensor<3>,
        k: Tensor<3>,
        v: Tensor<3>,
        allowed: Option<Tensor<3, Bool>>,
    ) -> Attention<3> {
        let ([_, t_q, d_k], [_, t_k, _]) = (q.dims(), k.dims());
        let scores = q.matmul(k.swap_dims(1, 2)).div_scalar((d_k as f64).sqrt());
        let scores = scores + self.matrix(t_q, t_k).unsqueeze::<3>();
        let weights = masked_softmax(scores, allowed, 2);
        Attention {
            output: weights.clone().matmul(v),
            weights,
        }
    }
}
// ANCHOR_END: relative_position_bias

// ANCHOR: attention_entropy
/// Exercise 2. The entropy H_i = -Σ_j a_ij ln a_ij of each row of attention weights `[.., t_q, t_k]`,
/// giving `[.., t_q]`: 0 when a query looks at a single key, ln n when it spreads evenly over n keys. Masked
/// keys (weight 0) contribute nothing, as 0 ln 0 = 0 by continuity.
pub fn attention_entropy<const D: usize>(weights: Tensor<D>) -> Tensor<D> {
    let zero = weights.clone().equal_elem(0.0);
    // ln 0 = -inf and 0 * -inf = NaN: take the log of 1 at those entries instead, so they add 0.
    let log = weights.clone().mask_fill(zero, 1.0).log();
    (weights * log).sum_dim(D - 1).neg()
}
// ANCHOR_END: attention_entropy
