//! Heatmaps with plotters, drawn on any backend: an SVG file for the book, inline SVG in a notebook (plotters'
//! `evcxr_figure`), or a bitmap.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;

/// Draws `values` (a list of equally long rows) as a heatmap, row 0 at the top, with a colour bar.
pub fn draw_heatmap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    values: &[Vec<f32>],
    title: &str,
    x_desc: &str,
    y_desc: &str,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    draw_labelled_heatmap(area, values, title, (x_desc, &[]), (y_desc, &[]))?;
    area.present()
}

/// [`draw_heatmap`] with a name for every column and row (for example the tokens of a sentence); an axis given no
/// names is numbered. Each axis is `(description, names)`. It leaves presenting the drawing to the caller, so that
/// several heatmaps can share one figure.
pub fn draw_labelled_heatmap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    values: &[Vec<f32>],
    title: &str,
    (x_desc, x_names): (&str, &[String]),
    (y_desc, y_names): (&str, &[String]),
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let rows = values.len();
    let cols = values.first().map_or(0, Vec::len);
    let (lo, hi) = values
        .iter()
        .flatten()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let hi = if hi > lo { hi } else { lo + 1.0 };

    area.fill(&WHITE)?;
    let (plot_area, bar_area) = area.split_horizontally(area.dim_in_pixel().0.saturating_sub(110));
    // Rows run downwards like a matrix's: row 0 at the top. Each cell is a unit square centred on its indices.
    let (width, height) = (cols as f64, rows as f64);
    // Names along the y axis need room for the longest; every cell of a named axis gets its tick.
    let y_room = match y_names.iter().map(|n| n.chars().count()).max() {
        Some(longest) => 30 + 8 * longest as u32,
        None => 50,
    };
    let tick_name = |names: &[String], at: f64| {
        let index = at.round();
        match names.get(index as usize) {
            _ if names.is_empty() => format!("{at:.0}"),
            Some(name) if (at - index).abs() < 1e-6 && index >= 0.0 => name.clone(),
            _ => String::new(),
        }
    };
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(title, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(y_room)
        .build_cartesian_2d(-0.5..width - 0.5, height - 0.5..-0.5)?;
    let (x_tick, y_tick) = (|x: &f64| tick_name(x_names, *x), |y: &f64| tick_name(y_names, *y));
    let mut mesh = chart.configure_mesh();
    mesh.disable_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&x_tick)
        .y_label_formatter(&y_tick)
        .label_style(("sans-serif", 13));
    if !x_names.is_empty() {
        mesh.x_labels(cols).x_label_style(("sans-serif", 11));
    }
    if !y_names.is_empty() {
        mesh.y_labels(rows);
    }
    mesh.draw()?;
    chart.draw_series(values.iter().enumerate().flat_map(|(r, row)| {
        row.iter().enumerate().map(move |(c, &v)| {
            let (x, y) = (c as f64, r as f64);
            Rectangle::new(
                [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                ViridisRGB::get_color_normalized(v, lo, hi).filled(),
            )
        })
    }))?;

    // The colour bar: the colour scale from `lo` (bottom) to `hi` (top), labelled at both ends and the middle.
    let steps = 50;
    let mut bar = ChartBuilder::on(&bar_area)
        .margin_top(40)
        .margin_bottom(50)
        .margin_right(60)
        .build_cartesian_2d(0.0..1.0, lo..hi)?;
    bar.draw_series((0..steps).map(|s| {
        let (a, b) = (
            lo + (hi - lo) * s as f32 / steps as f32,
            lo + (hi - lo) * (s + 1) as f32 / steps as f32,
        );
        Rectangle::new(
            [(0.0, a), (1.0, b)],
            ViridisRGB::get_color_normalized(a, lo, hi).filled(),
        )
    }))?;
    bar.draw_series(
        [lo, (lo + hi) / 2.0, hi].map(|v| {
            EmptyElement::at((1.0, v)) + Text::new(format!("{v:.2}"), (6, -6), ("sans-serif", 13).into_font())
        }),
    )?;
    Ok(())
}

/// [`draw_heatmap`] into an SVG file of `size` pixels.
pub fn write_heatmap_svg(
    path: &Path,
    size: (u32, u32),
    values: &[Vec<f32>],
    title: &str,
    x_desc: &str,
    y_desc: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let area = SVGBackend::new(path, size).into_drawing_area();
    draw_heatmap(&area, values, title, x_desc, y_desc)?;
    Ok(())
}

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
    write_heatmap_svg(
        path,
        (800, 480),
        &rows,
        "Sinusoidal positional encoding",
        "dimension",
        "position",
    )
}

/// One labelled line with a dot at each point, for line charts whose points are `(x, y)` floats.
pub fn draw_marked_line<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    label: &str,
    colour: RGBColor,
    points: Vec<(f64, f64)>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate<From = (f64, f64)>,
{
    chart
        .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
        .label(label)
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
    chart.draw_series(points.into_iter().map(|p| Circle::new(p, 3, colour.filled())))?;
    Ok(())
}
