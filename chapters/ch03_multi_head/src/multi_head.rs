//! Multi-head attention as one batched computation.

use attention::{attention_weights, self_attention_mask};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;

// ANCHOR: split_merge
/// `[batch, t, h * d_head]` to `[batch, h, t, d_head]`: the last dimension is cut into `n_heads` slices of width
/// d_head, one per head, and the heads become a batch dimension so that all of them attend in one matmul.
pub fn split_heads(x: Tensor<3>, n_heads: usize) -> Tensor<4> {
    let [batch, t, d_model] = x.dims();
    x.reshape([batch, t, n_heads, d_model / n_heads]).swap_dims(1, 2)
}

/// The inverse of [`split_heads`]: `[batch, h, t, d_head]` to `[batch, t, h * d_head]`, which concatenates the
/// heads' outputs position by position: Concat(head_1, …, head_h).
pub fn merge_heads(x: Tensor<4>) -> Tensor<3> {
    let [batch, n_heads, t, d_head] = x.dims();
    x.swap_dims(1, 2).reshape([batch, t, n_heads * d_head])
}
// ANCHOR_END: split_merge

// ANCHOR: position_wise
/// xW + b at every position of `x: [batch, t, d_in]`, as one `[batch * t, d_in]` matrix product: the same
/// numbers as `linear.forward(x)`, which burn's CPU backend computes (when `t` is a multiple of 32) as one small
/// product per sequence, each packing W again: for this book's sizes 1.4 to 2.1 times as long, forward and
/// backward.
pub fn position_wise(linear: &Linear, x: Tensor<3>) -> Tensor<3> {
    let [batch, t, d_in] = x.dims();
    let y = linear.forward(x.reshape([batch * t, d_in]));
    let d_out = y.dims()[1];
    y.reshape([batch, t, d_out])
}
// ANCHOR_END: position_wise

// ANCHOR: config
/// Configuration of [`MultiHeadAttention`].
#[derive(Config, Debug)]
pub struct MultiHeadAttentionConfig {
    /// Width of the model: of the inputs, the outputs, and of all heads together.
    pub d_model: usize,
    /// Number of heads h; each has width d_head = d_model / h.
    pub n_heads: usize,
    /// Whether the four projections have biases (GPT-2 and PyTorch's `nn.MultiheadAttention`: yes).
    #[config(default = true)]
    pub bias: bool,
    /// Dropout on the attention weights while training (GPT-2's and nanoGPT's `attn_dropout`, PyTorch's
    /// `nn.MultiheadAttention(dropout=...)`): each query ignores a random share of the keys it would have seen.
    #[config(default = 0.0)]
    pub dropout: f64,
}

/// h heads of attention. W^Q holds the h matrices W_i^Q side by side (and so for W^K, W^V), so one
/// `[d_model, d_model]` matmul projects every head at once.
#[derive(Module, Debug)]
pub struct MultiHeadAttention {
    pub w_q: Linear,
    pub w_k: Linear,
    pub w_v: Linear,
    pub w_o: Linear,
    pub dropout: Dropout,
    pub n_heads: usize,
}

/// What [`MultiHeadAttention`] returns.
#[derive(Debug, Clone)]
pub struct MultiHeadOutput {
    /// `[batch, t_q, d_model]`.
    pub output: Tensor<3>,
    /// `[batch, h, t_q, t_k]`: each head's attention weights, before the attention dropout (while training, the
    /// output was computed from a copy of them with some zeroed and the rest scaled by 1/(1-p)).
    pub weights: Tensor<4>,
}

impl MultiHeadAttentionConfig {
    /// # Panics
    /// If `d_model` is not a multiple of `n_heads`, saying so: the heads split the width evenly.
    pub fn init(&self, device: &Device) -> MultiHeadAttention {
        assert!(
            self.n_heads > 0 && self.d_model.is_multiple_of(self.n_heads),
            "d_model = {} cannot be split into {} heads of equal width: choose n_heads dividing d_model",
            self.d_model,
            self.n_heads
        );
        let linear = || {
            LinearConfig::new(self.d_model, self.d_model)
                .with_bias(self.bias)
                .init(device)
        };
        MultiHeadAttention {
            w_q: linear(),
            w_k: linear(),
            w_v: linear(),
            w_o: linear(),
            dropout: DropoutConfig::new(self.dropout).init(),
            n_heads: self.n_heads,
        }
    }
}
// ANCHOR_END: config

// ANCHOR: forward
impl MultiHeadAttention {
    /// Attention of the `query` positions `[batch, t_q, d_model]` over the `key`/`value` positions
    /// `[batch, t_k, d_model]`: the same tensor three times for self-attention, the decoder's states and the
    /// encoder's output for cross-attention. `allowed: [batch, t_q, t_k]` says which key each query may see; every
    /// head gets the same mask.
    pub fn forward(
        &self,
        query: Tensor<3>,
        key: Tensor<3>,
        value: Tensor<3>,
        allowed: Option<Tensor<3, Bool>>,
    ) -> MultiHeadOutput {
        let (q, k, v) = self.project(query, key, value);
        let allowed = allowed.map(|mask| mask.unsqueeze_dim::<4>(1)); // [batch, 1, t_q, t_k], one for all heads
        let weights = attention_weights(q, k, allowed); // [batch, h, t_q, t_k]
        MultiHeadOutput {
            output: self.attend(weights.clone(), v),
            weights,
        }
    }

    /// Q = `query` W^Q, K = `key` W^K, V = `value` W^V, each split into its heads:
    /// `[batch, h, t, d_head]`.
    pub fn project(&self, query: Tensor<3>, key: Tensor<3>, value: Tensor<3>) -> (Tensor<4>, Tensor<4>, Tensor<4>) {
        let split = |linear, x| split_heads(position_wise(linear, x), self.n_heads);
        (split(&self.w_q, query), split(&self.w_k, key), split(&self.w_v, value))
    }

    /// The heads' outputs head_i = A_i V_i from their weights `[batch, h, t_q, t_k]`, concatenated and
    /// projected: Concat(head_1, …, head_h) W^O `[batch, t_q, d_model]`.
    pub fn attend(&self, weights: Tensor<4>, v: Tensor<4>) -> Tensor<3> {
        // While training, dropped weights are zeroed and the others scaled by 1 / (1 - p); otherwise unchanged.
        let heads = self.dropout.forward(weights).matmul(v); // [batch, h, t_q, d_head]
        position_wise(&self.w_o, merge_heads(heads))
    }

    /// Self-attention of `x: [batch, t, d_model]`, with chapter 2's masks: `causal` hides the future,
    /// `key_padding: [batch, t]` (true at real tokens) hides padding.
    pub fn self_attention(&self, x: Tensor<3>, causal: bool, key_padding: Option<Tensor<2, Bool>>) -> MultiHeadOutput {
        let [batch, t, _] = x.dims();
        let allowed = self_attention_mask(batch, t, causal, key_padding, &x.device());
        self.forward(x.clone(), x.clone(), x, allowed)
    }
}
// ANCHOR_END: forward
