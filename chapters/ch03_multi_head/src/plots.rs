//! The chapter's figure: what each head of a multi-head attention looks at.

use std::error::Error;
use std::path::Path;

use attention::plots::{SENTENCE, embed_sentence, rows_of};
use burn::prelude::*;
use common::figures::draw_heatmap;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::MultiHeadAttentionConfig;

// ANCHOR: head_weights
/// Each head's attention weights `[t, t]` over the words of `sentence` (embedded as in chapter 2), for a freshly
/// initialised [`MultiHeadAttention`](crate::MultiHeadAttention) of `n_heads` heads: different random W_i^Q,
/// W_i^K give each head its own pattern before any training has taught it what to look for.
pub fn head_weights(
    sentence: &str,
    d_model: usize,
    n_heads: usize,
    causal: bool,
    device: &Device,
) -> (Vec<String>, Vec<Vec<Vec<f32>>>) {
    let (words, x) = embed_sentence(sentence, d_model, device);
    let mha = MultiHeadAttentionConfig::new(d_model, n_heads).init(device);
    let weights = mha.self_attention(x, causal, None).weights; // [1, h, t, t]
    let t = words.len();
    let heads = weights
        .reshape([n_heads, t, t])
        .iter_dim(0)
        .map(|head| rows_of(head.reshape([t, t])))
        .collect();
    (words, heads)
}
// ANCHOR_END: head_weights

/// The heads' heatmaps side by side, in a grid of `columns` columns.
pub fn draw_heads<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    words: &[String],
    heads: &[Vec<Vec<f32>>],
    columns: usize,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    area.fill(&WHITE)?;
    let grid = area.split_evenly((heads.len().div_ceil(columns), columns));
    for (i, (cell, weights)) in grid.iter().zip(heads).enumerate() {
        draw_heatmap(
            cell,
            weights,
            &format!("head {}", i + 1),
            ("key", words),
            ("query", words),
        )?;
    }
    area.present()
}

/// The book's figure: four causal heads over chapter 2's sentence, from a fixed seed on the CPU.
pub fn write_heads_svg(path: &Path) -> Result<(), Box<dyn Error>> {
    let device = Device::flex();
    device.seed(3);
    let (words, heads) = head_weights(SENTENCE, 64, 4, true, &device);
    let area = SVGBackend::new(path, (1300, 1100)).into_drawing_area();
    draw_heads(&area, &words, &heads, 2)?;
    Ok(())
}
