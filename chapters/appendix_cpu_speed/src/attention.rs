//! Chapter 3's causal self-attention with its weights computed by the fused [`causal_softmax`].

use burn::prelude::*;
use multi_head::MultiHeadAttention;

use crate::causal_softmax::causal_softmax;

/// The keys and values `[batch, n_head, t, d_head]` one layer has computed so far.
pub type LayerCache = Option<(Tensor<4>, Tensor<4>)>;

/// Chapter 3's multi-head attention, causal: the queries of `x`'s positions attend to the keys and values in
/// `cache` (none for a fresh sequence) and to their own, and `cache` then holds them all. New query $i$ stands at
/// position $past + i$ and sees keys $0..=past + i$, which [`causal_softmax`] applies without a mask tensor: the
/// same weights as chapter 2's softmax under the causal mask.
pub fn causal_self_attention(attention: &MultiHeadAttention, x: Tensor<3>, cache: &mut LayerCache) -> Tensor<3> {
    let (q, k_new, v_new) = attention.project(x.clone(), x.clone(), x);
    let (k, v) = match cache.take() {
        Some((k, v)) => (Tensor::cat(vec![k, k_new], 2), Tensor::cat(vec![v, v_new], 2)),
        None => (k_new, v_new),
    };
    let ([_, _, t_new, d_head], t_all) = (q.dims(), k.dims()[2]);
    let scores = q.matmul(k.clone().swap_dims(2, 3)); // [batch, h, t_new, t_all]
    let weights = causal_softmax(scores, 1.0 / (d_head as f64).sqrt(), t_all - t_new);
    *cache = Some((k, v.clone()));
    attention.attend(weights, v)
}
