//! Worked answers to chapter 3's exercises. Each one is tested in `tests/`.
//!
//! 1. [`GroupedQueryAttention`]: several query heads share one key/value head (Llama 2 70B, Mistral), which shrinks
//!    the key/value cache of text generation by the group size.
//! 2. [`parameter_count`]: how many parameters multi-head and grouped-query attention have, in closed form. The
//!    key/value cache holds 2 · T · h_kv · d_head numbers per layer instead of
//!    2 · T · h · d_head: h / h_kv times smaller (8 times for h = 8, h_kv = 1).
//!
//! 3. *Why do the heads divide d_model?* So that h heads cost what one head costs: W^Q, W^K, W^V stay
//!    d_model × d_model and the score matrices total h · T² · d_head = T² d_model
//!    multiply-adds. Full-width heads would multiply the projections' parameters and arithmetic by h, and W^O
//!    would grow to h·d_model × d_model to bring the concatenation back to d_model.

use attention::{scaled_dot_product_attention, self_attention_mask};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use multi_head::{MultiHeadOutput, merge_heads, position_wise, split_heads};

// ANCHOR: gqa
/// Configuration of [`GroupedQueryAttention`]: `n_heads` query heads share `n_kv_heads` key/value heads, each
/// serving a group of `n_heads / n_kv_heads` query heads. `n_kv_heads = n_heads` is chapter 3's multi-head
/// attention; `n_kv_heads = 1` is multi-query attention (Shazeer, 2019).
#[derive(Config, Debug)]
pub struct GroupedQueryAttentionConfig {
    pub d_model: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    #[config(default = true)]
    pub bias: bool,
}

/// Grouped-query attention: W^Q is `[d_model, d_model]` as before, but W^K and W^V are only
/// `[d_model, n_kv_heads * d_head]`.
#[derive(Module, Debug)]
pub struct GroupedQueryAttention {
    pub w_q: Linear,
    pub w_k: Linear,
    pub w_v: Linear,
    pub w_o: Linear,
    pub n_heads: usize,
    pub n_kv_heads: usize,
}

impl GroupedQueryAttentionConfig {
    /// # Panics
    /// If the heads do not divide `d_model`, or the key/value heads do not divide the query heads.
    pub fn init(&self, device: &Device) -> GroupedQueryAttention {
        assert!(
            self.n_heads > 0 && self.d_model.is_multiple_of(self.n_heads),
            "d_model = {} cannot be split into {} heads of equal width",
            self.d_model,
            self.n_heads
        );
        assert!(
            self.n_kv_heads > 0 && self.n_heads.is_multiple_of(self.n_kv_heads),
            "{} query heads cannot be shared evenly by {} key/value heads: choose n_kv_heads dividing n_heads",
            self.n_heads,
            self.n_kv_heads
        );
        let d_kv = self.n_kv_heads * self.d_model / self.n_heads;
        let linear = |d_out| LinearConfig::new(self.d_model, d_out).with_bias(self.bias).init(device);
        GroupedQueryAttention {
            w_q: linear(self.d_model),
            w_k: linear(d_kv),
            w_v: linear(d_kv),
            w_o: linear(self.d_model),
            n_heads: self.n_heads,
            n_kv_heads: self.n_kv_heads,
        }
    }
}

/// `[batch, n_kv, t, d_head]` to `[batch, n_kv * group, t, d_head]`, each key/value head repeated `group` times
/// in a row, so that query head i meets key/value head ⌊i / group⌋.
pub fn repeat_kv(x: Tensor<4>, group: usize) -> Tensor<4> {
    let [batch, n_kv, t, d_head] = x.dims();
    x.unsqueeze_dim::<5>(2)
        .expand([batch, n_kv, group, t, d_head])
        .reshape([batch, n_kv * group, t, d_head])
}

impl GroupedQueryAttention {
    /// Self-attention of `x: [batch, t, d_model]` with chapter 2's masks.
    pub fn self_attention(&self, x: Tensor<3>, causal: bool, key_padding: Option<Tensor<2, Bool>>) -> MultiHeadOutput {
        let [batch, t, _] = x.dims();
        let group = self.n_heads / self.n_kv_heads;
        let q = split_heads(position_wise(&self.w_q, x.clone()), self.n_heads);
        let k = repeat_kv(split_heads(position_wise(&self.w_k, x.clone()), self.n_kv_heads), group);
        let v = repeat_kv(split_heads(position_wise(&self.w_v, x), self.n_kv_heads), group);
        let allowed = self_attention_mask(batch, t, causal, key_padding, &q.device()).map(|m| m.unsqueeze_dim::<4>(1));
        let heads = scaled_dot_product_attention(q, k, v, allowed);
        MultiHeadOutput {
            output: position_wise(&self.w_o, merge_heads(heads.output)),
            weights: heads.weights,
        }
    }
}
// ANCHOR_END: gqa

// ANCHOR: parameter_count
/// Exercise 2. Parameters of grouped-query attention (multi-head attention when `n_kv_heads = n_heads`), with
/// d = `d_model` and d_kv = n_kv · d / h:
/// W^Q, W^O: d² each; W^K, W^V: d · d_kv each; biases 2d + 2d_kv. For multi-head attention
/// that is 4d² + 4d.
pub fn parameter_count(d_model: usize, n_heads: usize, n_kv_heads: usize, bias: bool) -> usize {
    let d_kv = n_kv_heads * d_model / n_heads;
    let weights = 2 * d_model * d_model + 2 * d_model * d_kv;
    let biases = if bias { 2 * d_model + 2 * d_kv } else { 0 };
    weights + biases
}
// ANCHOR_END: parameter_count
