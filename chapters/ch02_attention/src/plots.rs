//! The chapter's figures: attention over a real sentence, and why scores are divided by √d_k.

use std::error::Error;
use std::path::Path;

use burn::prelude::*;
use burn::tensor::Distribution;
use common::figures::{draw_heatmap, draw_marked_line, tick_label};
use plotters::coord::Shift;
use plotters::prelude::*;
use tokens::InputEmbeddingConfig;

use crate::{causal_mask, masked_softmax, scaled_dot_product_attention};

/// The sentence of the chapter's heatmaps: two words repeat, so matches by content are easy to see.
pub const SENTENCE: &str = "the cat sat on the mat because the cat was tired";

// ANCHOR: sentence_attention
/// The words of `sentence` and their vectors `[1, t, d_model]`: each distinct word gets a random embedding (chapter
/// 1's [`InputEmbeddingConfig`]) plus the sinusoidal encoding of its position.
pub fn embed_sentence(sentence: &str, d_model: usize, device: &Device) -> (Vec<String>, Tensor<3>) {
    let words: Vec<String> = sentence.split_whitespace().map(str::to_owned).collect();
    let mut vocabulary: Vec<&str> = Vec::new();
    let ids: Vec<i64> = words
        .iter()
        .map(|word| match vocabulary.iter().position(|known| known == word) {
            Some(id) => id as i64,
            None => {
                vocabulary.push(word);
                vocabulary.len() as i64 - 1
            }
        })
        .collect();
    let t = words.len();
    let embedding = InputEmbeddingConfig::new(vocabulary.len(), d_model, t)
        .with_learned_positions(false)
        .init(device);
    let x = embedding.forward(Tensor::<1, Int>::from_ints(ids.as_slice(), device).reshape([1, t]));
    (words, x)
}

/// Attention weights `[t, t]` over the words of `sentence` before any training, with the identity as projections:
/// Q = K = V = X from [`embed_sentence`]. Then q_i · k_j is large when word j *is* word i (the same
/// random vector): attention finds the word itself and its repeats. The positions decide how the copies of a word
/// share the weight (nearby positions have more similar encodings, so the nearer copy gets more); between different
/// words that similarity is too small to show.
///
/// Returns the words (the axis labels) and the rows of weights.
pub fn sentence_attention(
    sentence: &str,
    d_model: usize,
    causal: bool,
    device: &Device,
) -> (Vec<String>, Vec<Vec<f32>>) {
    let (words, x) = embed_sentence(sentence, d_model, device);
    let t = words.len();
    let allowed = causal.then(|| causal_mask(t, device).unsqueeze::<3>());
    let attention = scaled_dot_product_attention(x.clone(), x.clone(), x, allowed);
    (words, rows_of(attention.weights.reshape([t, t])))
}
// ANCHOR_END: sentence_attention

// ANCHOR: softmax_sharpness
/// How peaked attention is, with and without the scaling: for each `d_k`, draws `queries` random queries against
/// `keys` random keys (components i.i.d. N(0, 1)) and returns `(d_k, scaled, unscaled)`, the mean weight the softmax
/// gives its favourite key when the scores are q · k / √d_k and when they are q · k.
///
/// A weight of 1/keys means attention is uniform; 1 means it is one-hot and its gradient has vanished.
pub fn softmax_sharpness(d_ks: &[usize], queries: usize, keys: usize, device: &Device) -> Vec<(usize, f32, f32)> {
    let top_weight = |scores: Tensor<2>| {
        let top = masked_softmax(scores, None, 1).max_dim(1);
        top.mean().into_scalar::<f32>()
    };
    d_ks.iter()
        .map(|&d_k| {
            let q = Tensor::<2>::random([queries, d_k], Distribution::Normal(0.0, 1.0), device);
            let k = Tensor::<2>::random([keys, d_k], Distribution::Normal(0.0, 1.0), device);
            let scores = q.matmul(k.transpose()); // [queries, keys]
            let scaled = top_weight(scores.clone().div_scalar((d_k as f64).sqrt()));
            (d_k, scaled, top_weight(scores))
        })
        .collect()
}
// ANCHOR_END: softmax_sharpness

/// Rows of a `[rows, cols]` tensor.
pub fn rows_of(matrix: Tensor<2>) -> Vec<Vec<f32>> {
    let [_, cols] = matrix.dims();
    let values = matrix.to_data().try_to_vec::<f32>().expect("attention weights are f32");
    values.chunks(cols).map(<[f32]>::to_vec).collect()
}

/// Heatmap of [`sentence_attention`]'s weights: queries down, keys across.
pub fn draw_sentence_attention<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    words: &[String],
    weights: &[Vec<f32>],
    title: &str,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    draw_heatmap(area, weights, title, ("key", words), ("query", words))?;
    area.present()
}

/// Line chart of [`softmax_sharpness`]: the favourite key's weight against d_k (log scale), both ways.
pub fn draw_softmax_sharpness<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    sharpness: &[(usize, f32, f32)],
    keys: usize,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    area.fill(&WHITE)?;
    let largest = sharpness.iter().map(|s| s.0).max().unwrap_or(2) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("Weight of the favourite key among {keys}, random unit-variance q and k"),
            ("sans-serif", 18),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(
            (1f64..largest)
                .log_scale()
                .with_key_points(sharpness.iter().map(|s| s.0 as f64).collect()),
            0f64..1.05,
        )?;
    chart
        .configure_mesh()
        .x_desc("d_k (log scale)")
        .y_desc("mean largest softmax weight")
        .label_style(("sans-serif", 13))
        .x_label_formatter(&|d_k| tick_label(*d_k))
        .y_label_formatter(&|weight| tick_label(*weight))
        .draw()?;
    let uniform = 1.0 / keys as f64;
    let lines = [
        (
            "q·k (unscaled)",
            RED,
            sharpness.iter().map(|s| (s.0 as f64, s.2 as f64)).collect::<Vec<_>>(),
        ),
        (
            "q·k / √d_k",
            BLUE,
            sharpness.iter().map(|s| (s.0 as f64, s.1 as f64)).collect(),
        ),
        (
            "uniform attention",
            RGBColor(150, 150, 150),
            vec![(1.0, uniform), (largest, uniform)],
        ),
    ];
    for (label, colour, points) in lines {
        draw_marked_line(&mut chart, label, colour, points)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::MiddleRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    area.present()
}

/// The d_k values, query count and key count of the book's scaling figure.
pub const SHARPNESS_D_KS: [usize; 9] = [1, 2, 4, 8, 16, 32, 64, 128, 256];
pub const SHARPNESS_QUERIES: usize = 256;
pub const SHARPNESS_KEYS: usize = 16;

/// The book's heatmap of [`SENTENCE`] (`causal` or not), computed on the CPU from a fixed seed.
pub fn write_sentence_attention_svg(path: &Path, causal: bool) -> Result<(), Box<dyn Error>> {
    let device = Device::flex();
    device.seed(2);
    let (words, weights) = sentence_attention(SENTENCE, 64, causal, &device);
    let title = match causal {
        false => "Self-attention with Q = K = V = X",
        true => "Causal self-attention: no looking ahead",
    };
    let area = SVGBackend::new(path, (720, 620)).into_drawing_area();
    draw_sentence_attention(&area, &words, &weights, title)?;
    Ok(())
}

/// The book's figure of [`softmax_sharpness`], computed on the CPU from a fixed seed.
pub fn write_softmax_scaling_svg(path: &Path) -> Result<(), Box<dyn Error>> {
    let device = Device::flex();
    device.seed(5);
    let sharpness = softmax_sharpness(&SHARPNESS_D_KS, SHARPNESS_QUERIES, SHARPNESS_KEYS, &device);
    let area = SVGBackend::new(path, (760, 440)).into_drawing_area();
    draw_softmax_sharpness(&area, &sharpness, SHARPNESS_KEYS)?;
    Ok(())
}
