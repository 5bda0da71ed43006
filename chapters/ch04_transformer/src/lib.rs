//! # Chapter 4: the Transformer
//!
//! The encoder-decoder of Vaswani et al. (2017), assembled from chapter 3's multi-head attention and trained end
//! to end on a task with a checkable answer: reading numbers written in words and writing them in digits.
//!
//! - [`blocks`]: the feed-forward network, residual connections with layer norm (post- or pre-LN), the encoder
//!   and decoder layers;
//! - [`model`]: the whole encoder-decoder;
//! - [`data`]: the task, generated from a seed, and padded batches for teacher forcing;
//! - [`training`]: the training loop, its schedule, loss, clipping and checkpoints;
//! - [`decoding`]: greedy decoding and exact-match accuracy.
//!
//! BLEU, which the command-line tool reports beside exact match, is in the kit's metrics
//! (`common::metrics::bleu`), with the metrics of the later chapters.

pub mod blocks;
pub mod data;
pub mod decoding;
pub mod model;
pub mod plots;
pub mod training;

pub use blocks::{Activation, DecoderLayer, EncoderLayer, FeedForward, FeedForwardConfig, LayerConfig, NormPosition};
pub use model::{Transformer, TransformerConfig};
