//! The chapter's figures: the cross-attention of a trained model, gradient norms by depth, the architecture.

use std::error::Error;
use std::path::Path;

use plotters::prelude::*;

// ANCHOR: cross_attention
/// Where the decoder looked while writing `example`'s digits: the last decoder layer's cross-attention, averaged
/// over its heads, with the correct digits fed in (teacher forcing). Returns the source words (columns), the
/// target tokens being predicted (rows) and the weights `[t_tgt][t_src]`.
pub fn cross_attention_map(
    model: &crate::Transformer,
    example: &crate::data::Example,
    device: &burn::tensor::Device,
) -> (Vec<String>, Vec<String>, Vec<Vec<f32>>) {
    use crate::data::{Batch, Vocabulary};
    let batch = Batch::new(&[example], device);
    let memory = model.encode(batch.src.clone(), Some(batch.src_padding.clone()));
    let (_, layers) = model.decode_with_attention(batch.tgt_in, memory, None, Some(batch.src_padding));
    let last = layers.into_iter().last().expect("a decoder layer");
    let [_, heads, t_tgt, t_src] = last.dims();
    let mean = last.sum_dim(1).div_scalar(heads as f64).reshape([t_tgt * t_src]);
    let values = mean.to_data().try_to_vec::<f32>().expect("f32 weights");
    let (words, digits) = (Vocabulary::words(), Vocabulary::digits());
    let src: Vec<String> = example.src.iter().map(|&id| words.token(id).to_owned()).collect();
    let tgt: Vec<String> = example
        .tgt
        .iter()
        .chain(&[crate::data::EOS])
        .map(|&id| digits.token(id).to_owned())
        .collect();
    (src, tgt, values.chunks(t_src).map(<[f32]>::to_vec).collect())
}
// ANCHOR_END: cross_attention

/// Heatmap of [`cross_attention_map`]: the digits written (rows) against the source words read (columns).
pub fn draw_cross_attention<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    src: &[String],
    tgt: &[String],
    weights: &[Vec<f32>],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    common::figures::draw_heatmap(
        area,
        weights,
        "Cross-attention: which words each digit reads",
        ("source word", src),
        ("digit predicted", tgt),
    )?;
    area.present()
}

/// Line chart of [`decoder_gradient_profile`](crate::training::decoder_gradient_profile) for post-LN and pre-LN.
pub fn draw_gradient_profiles<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    post: &[f32],
    pre: &[f32],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    area.fill(&WHITE)?;
    let top = post.iter().chain(pre).fold(0f32, |a, &b| a.max(b)) as f64 * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "Gradient norm of each decoder layer's W1 at initialisation",
            ("sans-serif", 18),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.5f64..post.len() as f64 + 0.5, 0f64..top)?;
    chart
        .configure_mesh()
        .x_desc("decoder layer (1 = next to the input)")
        .y_desc("‖∂L/∂W1‖")
        .x_labels(post.len())
        .x_label_formatter(&|layer| common::figures::tick_label(*layer))
        .y_label_formatter(&|norm| common::figures::tick_label(*norm))
        .draw()?;
    for (label, colour, norms) in [("post-LN (the paper)", RED, post), ("pre-LN (GPT-2)", BLUE, pre)] {
        let points: Vec<(f64, f64)> = norms
            .iter()
            .enumerate()
            .map(|(i, &n)| (i as f64 + 1.0, n as f64))
            .collect();
        common::figures::draw_marked_line(&mut chart, label, colour, points)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.9))
        .draw()?;
    area.present()
}

/// The book's figure: 12-layer decoders, averaged over 4 initialisations, on the CPU.
pub fn write_gradient_profiles_svg(path: &Path) -> Result<(), Box<dyn Error>> {
    use crate::training::decoder_gradient_profile;
    let device = burn::tensor::Device::flex().autodiff();
    let post = decoder_gradient_profile(crate::NormPosition::Post, 12, 4, &device);
    let pre = decoder_gradient_profile(crate::NormPosition::Pre, 12, 4, &device);
    let area = SVGBackend::new(path, (760, 440)).into_drawing_area();
    draw_gradient_profiles(&area, &post, &pre)?;
    Ok(())
}

/// The encoder-decoder drawn as boxes and arrows, pre-LN as this chapter builds it: the encoder on the left, the
/// decoder on the right, the memory flowing from one to the other's cross-attention.
pub fn draw_architecture<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    area.fill(&WHITE)?;
    let font = ("sans-serif", 15).into_font();
    let block = |x: i32, y: i32, w: i32, label: &str, colour: RGBColor| {
        let rect = Rectangle::new([(x, y), (x + w, y + 34)], colour.mix(0.35).filled());
        let border = Rectangle::new([(x, y), (x + w, y + 34)], BLACK.stroke_width(1));
        let text = Text::new(label.to_string(), (x + 10, y + 9), font.clone());
        (rect, border, text)
    };
    let arrow = |from: (i32, i32), to: (i32, i32)| {
        let (dx, dy) = ((to.0 - from.0) as f64, (to.1 - from.1) as f64);
        let length = (dx * dx + dy * dy).sqrt().max(1.0);
        let (ux, uy) = (dx / length, dy / length);
        let head = |side: f64| {
            (
                to.0 - (8.0 * ux - side * 4.0 * uy) as i32,
                to.1 - (8.0 * uy + side * 4.0 * ux) as i32,
            )
        };
        (
            PathElement::new([from, to], BLACK.stroke_width(2)),
            Polygon::new([to, head(1.0), head(-1.0)], BLACK.filled()),
        )
    };
    let (attention, feed_forward, embed, out) = (
        RGBColor(255, 165, 0),
        RGBColor(70, 130, 180),
        RGBColor(150, 150, 150),
        RGBColor(60, 179, 113),
    );
    // (x, y, width, label, colour), bottom to top: data flows upwards as in the paper's figure.
    let encoder = [
        (40, 520, 230, "source tokens → embedding", embed),
        (40, 470, 230, "+ sinusoidal positions", embed),
        (40, 380, 230, "LayerNorm → self-attention", attention),
        (40, 320, 230, "LayerNorm → feed-forward", feed_forward),
        (40, 230, 230, "final LayerNorm: memory", embed),
    ];
    let decoder = [
        (380, 520, 260, "answer so far → embedding", embed),
        (380, 470, 260, "+ sinusoidal positions", embed),
        (380, 380, 260, "LayerNorm → masked self-attn.", attention),
        (380, 320, 260, "LayerNorm → cross-attention", attention),
        (380, 260, 260, "LayerNorm → feed-forward", feed_forward),
        (380, 170, 260, "final LayerNorm → Linear", out),
        (380, 110, 260, "softmax: next token", out),
    ];
    for blocks in [&encoder[..], &decoder[..]] {
        for (i, &(x, y, w, label, colour)) in blocks.iter().enumerate() {
            let (rect, border, text) = block(x, y, w, label, colour);
            area.draw(&rect)?;
            area.draw(&border)?;
            area.draw(&text)?;
            if let Some(&(_, above, _, _, _)) = blocks.get(i + 1) {
                let (line, head) = arrow((x + w / 2, y), (x + w / 2, above + 34));
                area.draw(&line)?;
                area.draw(&head)?;
            }
        }
    }
    // The repeated layers, each with its residual connections, in a frame marked ×N.
    for (left, top, right) in [(30, 310, 280), (370, 250, 650)] {
        area.draw(&Rectangle::new(
            [(left, top), (right, 424)],
            BLACK.mix(0.6).stroke_width(1),
        ))?;
        let note = "× N layers; each sublayer F adds: x + F(LN(x))";
        area.draw(&Text::new(note, (left + 2, 430), ("sans-serif", 12).into_font()))?;
    }
    let (line, head) = arrow((270, 247), (380, 337));
    area.draw(&line)?;
    area.draw(&head)?;
    area.draw(&Text::new("keys, values", (280, 262), ("sans-serif", 13).into_font()))?;
    area.draw(&Text::new("Encoder", (120, 580), ("sans-serif", 18).into_font()))?;
    area.draw(&Text::new("Decoder", (470, 580), ("sans-serif", 18).into_font()))?;
    area.present()
}

/// The book's architecture figure.
pub fn write_architecture_svg(path: &Path) -> Result<(), Box<dyn Error>> {
    let area = SVGBackend::new(path, (680, 620)).into_drawing_area();
    draw_architecture(&area)?;
    Ok(())
}
