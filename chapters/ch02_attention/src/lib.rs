//! # Chapter 2: scaled dot-product self-attention
//!
//! Attention(Q, K, V) = softmax(QKᵀ/√d_k) V, with Q = XW^Q, K = XW^K, V = XW^V.
//!
//! Every position asks a question (its query q_i), every position offers an answer key k_j and a value
//! v_j; the output at i is the average of the values, weighted by how well each key matches the question.
//!
//! - [`softmax`]: a numerically safe, maskable softmax;
//! - [`naive`]: attention written with loops over positions, the formula read aloud;
//! - [`self_attention`]: the matrix form, a burn module with causal and padding masks;
//! - [`plots`]: attention heatmaps over a sentence, and what the 1/√d_k scaling does to the softmax.

pub mod naive;
pub mod plots;
pub mod self_attention;
pub mod softmax;

pub use self_attention::{
    Attention, SelfAttention, SelfAttentionConfig, attention_weights, causal_mask, padding_mask,
    scaled_dot_product_attention, self_attention_mask,
};
pub use softmax::masked_softmax;
