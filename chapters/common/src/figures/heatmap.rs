//! Heatmaps: attention weights, positional encodings, similarities, confusion matrices.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// An axis of a heatmap: its description, and a name for each row or column (an empty list numbers them).
pub type Axis<'a> = (&'a str, &'a [String]);

/// Names longer than this are cut, ending in "…": a whole sentence would push the cells off the figure.
pub const LONGEST_LABEL: usize = 24;
/// About how wide one character of the 11-pixel label font is, in pixels.
const CHARACTER_WIDTH: u32 = 6;

/// Draws `values` (a list of equally long rows) as a heatmap, row 0 at the top, with a colour bar. Each axis is
/// `(description, names)`: named axes get one label a cell (shortened past [`LONGEST_LABEL`] characters, and the
/// column names turned upright when they are wider than their cells), unnamed ones are numbered. It leaves
/// presenting the drawing to the caller, so that several heatmaps can share one figure.
pub fn draw_heatmap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    values: &[Vec<f32>],
    title: &str,
    x: Axis,
    y: Axis,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    draw_cells(area, values, title, x, y, None)
}

/// The confusion matrix `counts[true class][predicted class]` as a heatmap with the count printed in every cell.
pub fn draw_confusion_matrix<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    counts: &[Vec<usize>],
    classes: &[String],
    title: &str,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let values: Vec<Vec<f32>> = counts
        .iter()
        .map(|row| row.iter().map(|&count| count as f32).collect())
        .collect();
    let count = |value: f32| format!("{value:.0}");
    draw_cells(
        area,
        &values,
        title,
        ("predicted", classes),
        ("true", classes),
        Some(&count),
    )
}

/// `name` cut to [`LONGEST_LABEL`] characters.
pub fn shorten(name: &str) -> String {
    if name.chars().count() <= LONGEST_LABEL {
        return name.to_string();
    }
    let kept: String = name.chars().take(LONGEST_LABEL - 1).collect();
    format!("{}…", kept.trim_end())
}

/// The heatmap, with each cell's value written in it by `cell_text` if given.
fn draw_cells<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    values: &[Vec<f32>],
    title: &str,
    (x_desc, x_names): Axis,
    (y_desc, y_names): Axis,
    cell_text: Option<&dyn Fn(f32) -> String>,
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
    let (x_names, y_names): (Vec<String>, Vec<String>) = (
        x_names.iter().map(|n| shorten(n)).collect(),
        y_names.iter().map(|n| shorten(n)).collect(),
    );
    let widest = |names: &[String]| names.iter().map(|n| n.chars().count() as u32).max();

    area.fill(&WHITE)?;
    let (plot_area, bar_area) = area.split_horizontally(area.dim_in_pixel().0.saturating_sub(110));
    let y_room = widest(&y_names).map_or(50, |chars| 30 + CHARACTER_WIDTH * chars);
    // Column names wider than their cells stand upright below them, so they need the room of the widest.
    let cell_width = plot_area.dim_in_pixel().0.saturating_sub(y_room + 20) / cols.max(1) as u32;
    let upright = widest(&x_names).is_some_and(|chars| chars * CHARACTER_WIDTH > cell_width);
    let x_room = if upright {
        45 + CHARACTER_WIDTH * widest(&x_names).unwrap_or(0)
    } else {
        40
    };

    // Rows run downwards like a matrix's: row 0 at the top. Each cell is a unit square centred on its indices.
    let (width, height) = (cols as f64, rows as f64);
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(title, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(x_room)
        .y_label_area_size(y_room)
        .build_cartesian_2d(-0.5..width - 0.5, height - 0.5..-0.5)?;
    let x_tick = |x: &f64| match upright {
        true => String::new(),
        false => cell_label(&x_names, *x),
    };
    let y_tick = |y: &f64| cell_label(&y_names, *y);
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
    if upright {
        // Turned a quarter clockwise, each name reads downwards from just below its column.
        let style = TextStyle::from(("sans-serif", 11).into_font().transform(FontTransform::Rotate90))
            .pos(Pos::new(HPos::Left, VPos::Center));
        chart.draw_series(x_names.iter().enumerate().map(|(c, name)| {
            EmptyElement::at((c as f64, height - 0.5)) + Text::new(name.clone(), (0, 8), style.clone())
        }))?;
    }
    chart.draw_series(values.iter().enumerate().flat_map(|(r, row)| {
        row.iter().enumerate().map(move |(c, &v)| {
            let (x, y) = (c as f64, r as f64);
            Rectangle::new(
                [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                ViridisRGB::get_color_normalized(v, lo, hi).filled(),
            )
        })
    }))?;
    if let Some(text) = cell_text {
        // Viridis runs from dark purple to yellow: white text on the darker half, black on the lighter.
        let centred = Pos::new(HPos::Center, VPos::Center);
        chart.draw_series(values.iter().enumerate().flat_map(|(r, row)| {
            row.iter().enumerate().map(move |(c, &v)| {
                let colour = if (v - lo) / (hi - lo) < 0.5 { WHITE } else { BLACK };
                let style = ("sans-serif", 18).into_font().color(&colour).pos(centred);
                Text::new(text(v), (c as f64, r as f64), style)
            })
        }))?;
    }

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
    // The bar reads like the cells where they print their values (counts); otherwise two decimals are enough to
    // read a colour by.
    let bar_label = |v: f32| cell_text.map_or_else(|| format!("{v:.2}"), |text| text(v));
    bar.draw_series(
        [lo, (lo + hi) / 2.0, hi]
            .map(|v| EmptyElement::at((1.0, v)) + Text::new(bar_label(v), (6, -6), ("sans-serif", 13).into_font())),
    )?;
    Ok(())
}

/// The label of the cell centred at `at` on an axis with these names: its name, or its number on an unnamed axis;
/// nothing between cells.
fn cell_label(names: &[String], at: f64) -> String {
    let index = at.round();
    if (at - index).abs() > 1e-6 || index < 0.0 {
        return String::new();
    }
    match names.get(index as usize) {
        _ if names.is_empty() => format!("{index:.0}"),
        Some(name) => name.clone(),
        None => String::new(),
    }
}
