//! Self-attention in matrix form, as a burn module.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use crate::softmax::masked_softmax;

/// What attention returns: the outputs, and the weights that made them (for plots and tests).
#[derive(Debug, Clone)]
pub struct Attention<const D: usize> {
    /// `[.., t_q, d_v]`: one output per query.
    pub output: Tensor<D>,
    /// `[.., t_q, t_k]`: row i is the distribution query i puts over the keys; each row sums to 1 (or is all
    /// zeros where every key is masked).
    pub weights: Tensor<D>,
}

// ANCHOR: sdpa
/// softmax(QKᵀ / √d_k) V, for any number of leading batch dimensions:
/// `q: [.., t_q, d_k]`, `k: [.., t_k, d_k]`, `v: [.., t_k, d_v]`. `allowed: [.., t_q, t_k]` says which key each
/// query may look at.
pub fn scaled_dot_product_attention<const D: usize>(
    q: Tensor<D>,
    k: Tensor<D>,
    v: Tensor<D>,
    allowed: Option<Tensor<D, Bool>>,
) -> Attention<D> {
    let weights = attention_weights(q, k, allowed);
    Attention {
        output: weights.clone().matmul(v),
        weights,
    }
}

/// The weights alone, A = softmax(QKᵀ / √d_k) `[.., t_q, t_k]`, masked by `allowed`.
///
/// Why divide by √d_k: if the components of q and k are independent with mean 0 and variance 1,
/// q · k is a sum of d_k such products and has variance d_k. Unscaled, the scores grow with the width of
/// the head, the softmax saturates to a one-hot vector, and its gradient vanishes. Scaled, the variance is 1.
pub fn attention_weights<const D: usize>(q: Tensor<D>, k: Tensor<D>, allowed: Option<Tensor<D, Bool>>) -> Tensor<D> {
    let d_k = q.dims()[D - 1];
    let scores = q.matmul(k.swap_dims(D - 2, D - 1)).div_scalar((d_k as f64).sqrt()); // [.., t_q, t_k]
    let allowed = allowed.map(|allowed| allowed.expand(scores.shape()));
    masked_softmax(scores, allowed, D - 1)
}
// ANCHOR_END: sdpa

// ANCHOR: masks
/// The causal mask `[t, t]`: query i may see key j only if j ≤ i (true on and below the diagonal).
pub fn causal_mask(t: usize, device: &Device) -> Tensor<2, Bool> {
    // burn's `tril_mask` marks what lies *outside* the lower triangle; we want what lies inside.
    Tensor::<2, Bool>::tril_mask([t, t], 0, device).bool_not()
}

/// The padding mask `[batch, t]` of sequences padded to length `t`: true at the first `lengths[b]` positions of
/// row `b` (real tokens), false after them (padding).
pub fn padding_mask(lengths: &[usize], t: usize, device: &Device) -> Tensor<2, Bool> {
    let positions = Tensor::<1, Int>::arange(0..t as i64, device).reshape([1, t]);
    let lengths: Vec<i64> = lengths.iter().map(|&n| n as i64).collect();
    let lengths = Tensor::<1, Int>::from_ints(lengths.as_slice(), device).reshape([lengths.len(), 1]);
    positions.lower(lengths) // [batch, t] by broadcasting
}

/// The `[batch, t, t]` mask of self-attention over `t` positions: the causal mask if `causal`, the padding mask of
/// the keys if given, both if both (a query may look at a key only if each allows it), `None` if neither.
pub fn self_attention_mask(
    batch: usize,
    t: usize,
    causal: bool,
    key_padding: Option<Tensor<2, Bool>>,
    device: &Device,
) -> Option<Tensor<3, Bool>> {
    let causal = causal.then(|| causal_mask(t, device).unsqueeze::<3>().expand([batch, t, t]));
    let padding = key_padding.map(|keys| keys.unsqueeze_dim::<3>(1).expand([batch, t, t]));
    match (causal, padding) {
        (Some(c), Some(p)) => Some(c.bool_and(p)),
        (c, p) => c.or(p),
    }
}
// ANCHOR_END: masks

// ANCHOR: self_attention
/// Configuration of [`SelfAttention`].
#[derive(Config, Debug)]
pub struct SelfAttentionConfig {
    /// Width of the input vectors.
    pub d_model: usize,
    /// Width of queries and keys.
    pub d_k: usize,
    /// Width of values, and so of the output.
    pub d_v: usize,
    /// Whether the projections have a bias (the original Transformer: no; GPT-2: yes).
    #[config(default = false)]
    pub bias: bool,
}

/// One head of self-attention: Q = XW^Q, K = XW^K, V = XW^V, then [`scaled_dot_product_attention`].
#[derive(Module, Debug)]
pub struct SelfAttention {
    pub w_q: Linear,
    pub w_k: Linear,
    pub w_v: Linear,
}

impl SelfAttentionConfig {
    pub fn init(&self, device: &Device) -> SelfAttention {
        let linear = |d_out| LinearConfig::new(self.d_model, d_out).with_bias(self.bias).init(device);
        SelfAttention {
            w_q: linear(self.d_k),
            w_k: linear(self.d_k),
            w_v: linear(self.d_v),
        }
    }
}

impl SelfAttention {
    /// `x: [batch, t, d_model]` to outputs `[batch, t, d_v]` and weights `[batch, t, t]`.
    ///
    /// With `causal`, position i attends only to positions ≤ i (a decoder, which must not see the future).
    /// `key_padding: [batch, t]` (see [`padding_mask`]) keeps every query from attending to padding.
    pub fn forward(&self, x: Tensor<3>, causal: bool, key_padding: Option<Tensor<2, Bool>>) -> Attention<3> {
        let [batch, t, _] = x.dims();
        let allowed = self_attention_mask(batch, t, causal, key_padding, &x.device());
        let (q, k, v) = (
            self.w_q.forward(x.clone()),
            self.w_k.forward(x.clone()),
            self.w_v.forward(x),
        );
        scaled_dot_product_attention(q, k, v, allowed)
    }
}
// ANCHOR_END: self_attention
