//! # Chapter 3: multi-head attention
//!
//! MultiHead(X) = Concat(head_1, …, head_h) W^O, with head_i = Attention(XW_i^Q, XW_i^K, XW_i^V).
//!
//! One head computes one weighted average per position, so it can follow one kind of relation at a time. h heads
//! of width d_head = d_model/h cost about what one head of width d_model costs and can follow h
//! relations at once (one head the previous word, another the subject of the sentence, ...).
//!
//! - [`multi_head`]: the module, with all heads computed at once as a `[batch, heads, seq, d_head]` tensor and
//!   chapter 2's [`attention::scaled_dot_product_attention`] reused for the attention itself;
//! - [`plots`]: one heatmap per head.

pub mod multi_head;
pub mod plots;

pub use multi_head::{
    MultiHeadAttention, MultiHeadAttentionConfig, MultiHeadOutput, merge_heads, position_wise, split_heads,
};
