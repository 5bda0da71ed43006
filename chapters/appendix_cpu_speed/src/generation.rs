//! Chapter 5's sampler on the kernels. Generation runs no backward pass, and with the KV cache one position a step:
//! each weight matrix is then multiplied by a single row, a matrix-vector product that reads the whole matrix for
//! 2 flops per weight, bound by how fast memory is read. burn's matrix library computes such a product on one
//! thread however many there are (and a product of a few rows on little more), so here every product of a step is
//! cut in one block of the weight's columns per core, the blocks computed at once. Without the cache the window
//! runs through the same pass from an empty cache.

use std::ops::Range;

use burn::nn::Linear;
use burn::prelude::*;
use gpt::generation::Decoder;
use gpt::model::{Gpt, KvCache};
use multi_head::{MultiHeadAttention, merge_heads, split_heads};
use transformer::{Activation, FeedForward};

use crate::causal_softmax::causal_softmax;
use crate::data_parallel::{cores_for, map_in_order, slice_ranges};
use crate::gelu::{gelu, gelu_tanh};

// ANCHOR: decoder
/// Chapter 5's sampler on the kernels: a cached step by [`hidden_states_cached`], a whole window (the no-cache
/// path) by the same pass from an empty cache, the head by [`lm_head`].
pub struct FastDecoder<'a>(pub &'a Gpt);

impl Decoder for FastDecoder<'_> {
    fn gpt(&self) -> &Gpt {
        self.0
    }

    fn hidden_states(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        hidden_states_cached(self.0, tokens, &mut KvCache::new())
    }

    fn hidden_states_cached(&self, tokens: Tensor<2, Int>, cache: &mut KvCache) -> Tensor<3> {
        hidden_states_cached(self.0, tokens, cache)
    }

    fn lm_head(&self, h: Tensor<3>) -> Tensor<3> {
        lm_head(self.0, h)
    }
}
// ANCHOR_END: decoder

// ANCHOR: on_cores
/// x W (+ b) for `x: [n, d_in]`, W's columns cut in one block per core, the blocks' products computed at once.
pub fn linear_on_cores(linear: &Linear, x: Tensor<2>) -> Tensor<2> {
    let w = linear.weight.val();
    let [d_in, d_out] = w.dims();
    let y = side_by_side_on_cores(d_out, &w.device(), |columns| {
        x.clone().matmul(w.clone().slice([0..d_in, columns]))
    });
    match &linear.bias {
        Some(bias) => y + bias.val().unsqueeze::<2>(),
        None => y,
    }
}

/// [`Gpt::lm_head`], h Eᵀ, with the vocabulary cut in one block of E's rows per core.
pub fn lm_head(model: &Gpt, h: Tensor<3>) -> Tensor<3> {
    let e = model.embedding.token.weight.val();
    let ([batch, t, d], [vocab, _]) = (h.dims(), e.dims());
    let h = h.reshape([batch * t, d]);
    let logits = side_by_side_on_cores(vocab, &e.device(), |rows| {
        h.clone().matmul(e.clone().slice(rows).transpose())
    });
    logits.reshape([batch, t, vocab])
}

/// A product's columns 0..n, cut in one range per core of `device`, each range's columns computed by `block`,
/// all at once, then set side by side.
fn side_by_side_on_cores(
    n: usize,
    device: &Device,
    block: impl Fn(Range<usize>) -> Tensor<2> + Send + Sync,
) -> Tensor<2> {
    let blocks = slice_ranges(n, cores_for(device));
    let parallel = blocks.len() > 1;
    Tensor::cat(map_in_order(blocks, parallel, block), 1)
}
// ANCHOR_END: on_cores

// ANCHOR: cached
/// [`Gpt::hidden_states_cached`] with every projection on all cores ([`linear_on_cores`]), the attention's
/// weights by the fused causal softmax (new query i sees keys 0..=past + i) and the fused GELU.
pub fn hidden_states_cached(model: &Gpt, tokens: Tensor<2, Int>, cache: &mut KvCache) -> Tensor<3> {
    let mut x = model.embed_after(tokens, cache.len());
    for (block, layer_cache) in model.blocks.iter().zip(cache.layers_for(model.blocks.len())) {
        x = block
            .around_attention
            .forward(x, |h| cached_attention(&block.attention, h, layer_cache));
        x = block.around_mlp.forward(x, |h| mlp(&block.mlp, h));
    }
    model.final_norm.forward(x)
}

/// Chapter 3's attention for new positions after the cached ones, `cache` extended with their keys and values.
fn cached_attention(
    attention: &MultiHeadAttention,
    x: Tensor<3>,
    cache: &mut Option<(Tensor<4>, Tensor<4>)>,
) -> Tensor<3> {
    let [batch, t_new, d] = x.dims();
    let x = x.reshape([batch * t_new, d]);
    let project = |linear| {
        split_heads(
            linear_on_cores(linear, x.clone()).reshape([batch, t_new, d]),
            attention.n_heads,
        )
    };
    let (q, k_new, v_new) = (
        project(&attention.w_q),
        project(&attention.w_k),
        project(&attention.w_v),
    );
    let (k, v) = match cache.take() {
        Some((k, v)) => (Tensor::cat(vec![k, k_new], 2), Tensor::cat(vec![v, v_new], 2)),
        None => (k_new, v_new),
    };
    let past = k.dims()[2] - t_new;
    let d_head = q.dims()[3];
    let weights = causal_softmax(q.matmul(k.clone().swap_dims(2, 3)), 1.0 / (d_head as f64).sqrt(), past);
    let heads = merge_heads(weights.matmul(v.clone())).reshape([batch * t_new, d]);
    *cache = Some((k, v));
    linear_on_cores(&attention.w_o, heads).reshape([batch, t_new, d])
}

/// Chapter 4's feed-forward network with both layers on all cores and the fused GELU (another activation runs
/// as burn's).
fn mlp(mlp: &FeedForward, h: Tensor<3>) -> Tensor<3> {
    let [batch, t, d] = h.dims();
    let hidden = linear_on_cores(&mlp.linear_1, h.reshape([batch * t, d]));
    let hidden = match mlp.activation {
        Activation::Gelu => gelu(hidden),
        Activation::GeluTanh => gelu_tanh(hidden),
        other => other.apply(hidden),
    };
    linear_on_cores(&mlp.linear_2, hidden).reshape([batch, t, d])
}
// ANCHOR_END: cached
