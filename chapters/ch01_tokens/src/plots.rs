//! The chapter's figure: the sinusoidal positional encoding as a heatmap (drawn by the kit's
//! [`draw_heatmap`], which the later chapters use for attention weights).

use std::path::Path;

use common::figures::draw_heatmap;
use plotters::prelude::*;

/// The positional-encoding heatmap of chapter 1's book page and demo: 64 positions down, 64 dimensions across.
pub fn write_positional_encoding_svg(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let (seq_len, d_model) = (64, 64);
    let pe = crate::sinusoidal_positional_encoding(seq_len, d_model, &burn::tensor::Device::flex());
    let rows: Vec<Vec<f32>> = pe
        .to_data()
        .try_to_vec::<f32>()?
        .chunks(d_model)
        .map(<[f32]>::to_vec)
        .collect();
    let area = SVGBackend::new(path, (800, 480)).into_drawing_area();
    draw_heatmap(
        &area,
        &rows,
        "Sinusoidal positional encoding",
        ("dimension", &[]),
        ("position", &[]),
    )?;
    Ok(())
}
