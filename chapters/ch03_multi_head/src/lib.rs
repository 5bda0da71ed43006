//! # Chapter 3: multi-head attention
//!
//! $$\mathrm{MultiHead}(X) = \mathrm{Concat}(\mathrm{head}_1, \dots, \mathrm{head}_h)\,W^O, \qquad
//! \mathrm{head}_i = \mathrm{Attention}(XW_i^Q, XW_i^K, XW_i^V).$$
//!
//! One head computes one weighted average per position, so it can follow one kind of relation at a time. $h$ heads
//! of width $d_{head} = d_{model}/h$ cost about what one head of width $d_{model}$ costs and can follow $h$
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
