//! Chapter 3's causal self-attention with its weights computed by the fused [`causal_softmax`].

use burn::prelude::*;
use multi_head::MultiHeadAttention;

use crate::causal_softmax::causal_softmax;

/// Chapter 3's multi-head attention over `x: [batch, t, d_model]`, causal: query i sees keys 0..=i, which
/// [`causal_softmax`] applies without a mask tensor: the same weights as chapter 2's softmax under the causal mask.
pub fn causal_self_attention(attention: &MultiHeadAttention, x: Tensor<3>) -> Tensor<3> {
    let (q, k, v) = attention.project(x.clone(), x.clone(), x);
    let d_head = q.dims()[3];
    let scores = q.matmul(k.swap_dims(2, 3)); // [batch, h, t, t]
    let weights = causal_softmax(scores, 1.0 / (d_head as f64).sqrt(), 0); // no earlier keys
    attention.attend(weights, v)
}
