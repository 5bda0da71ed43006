//! The book's figures: each is drawn by a chapter's code as SVG, rasterised to PNG where a file viewer needs one,
//! and kept honest by a test that redraws it and compares. The kinds every chapter draws are here: the loss curve
//! ([`loss_curve`]), heatmaps and confusion matrices ([`heatmap`]), lines with marked points, and the numbering of
//! their axes ([`nice_ticks`], [`tick_label`]).

use std::path::Path;

use plotters::prelude::*;

pub mod heatmap;
pub mod loss_curve;

pub use heatmap::{Axis, draw_confusion_matrix, draw_heatmap};
pub use loss_curve::{DrawError, draw_loss_curve, loss_ticks, write_loss_curve_svg};
#[cfg(feature = "png")]
pub use loss_curve::{write_loss_curve_png, write_loss_curves};

/// Round numbers from `lo` to `hi` to number an axis with: evenly spaced by 1, 2 or 5 times a power of ten, the
/// widest such spacing that still gives at least `at_least` of them. Empty for an empty or infinite range.
pub fn nice_ticks(lo: f64, hi: f64, at_least: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite() && hi > lo) {
        return Vec::new();
    }
    let ticks = |step: f64| -> Vec<f64> {
        let (first, last) = ((lo / step - 1e-9).ceil() as i64, (hi / step + 1e-9).floor() as i64);
        // Rounded to nine decimals, so that 3 x 0.2 is labelled 0.6 and not 0.6000000000000001.
        (first..=last).map(|i| (i as f64 * step * 1e9).round() / 1e9).collect()
    };
    let mut power = (hi - lo).log10().ceil() as i32;
    loop {
        for mantissa in [5.0, 2.0, 1.0] {
            let found = ticks(mantissa * 10f64.powi(power));
            if found.len() >= at_least {
                return found;
            }
        }
        power -= 1;
    }
}

/// A tick value as a reader would write it: "200" rather than "200.0", "0.55" rather than "0.5500", "1e-4" for
/// the very small.
pub fn tick_label(value: f64) -> String {
    if value != 0.0 && value.abs() < 1e-3 {
        return format!("{value:.0e}");
    }
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".into() } else { text.into() }
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

/// Rasterises an SVG document into a PNG file of the same size, on a white background, with the system's fonts (a
/// machine without any gets the drawing without its labels).
#[cfg(feature = "png")]
pub fn svg_to_png(svg: &str, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    use resvg::{tiny_skia, usvg};
    let mut options = usvg::Options::default();
    let fonts = options.fontdb_mut();
    fonts.load_system_fonts();
    // The figures ask for "sans-serif", which the font database maps to Arial: where Arial is not installed (most
    // Linux machines), to the first of these that is, else every label would be left out.
    let installed = |name: &str| {
        fonts
            .faces()
            .any(|face| face.families.iter().any(|(family, _)| family == name))
    };
    if let Some(family) = ["Arial", "DejaVu Sans", "Liberation Sans", "Helvetica"]
        .into_iter()
        .find(|f| installed(f))
    {
        fonts.set_sans_serif_family(family);
    }
    let tree = usvg::Tree::from_str(svg, &options)?;
    let size = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height()).ok_or("an empty figure")?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap.save_png(path)?;
    Ok(())
}

/// Panics unless the SVG at `committed` is what `draw` draws now. With the environment variable `UPDATE_FIGURES`
/// set, redraws `committed` first (the way to refresh a figure after changing the code behind it).
///
/// The comparison is line by line and tolerates 1% of lines differing: a cell whose colour rounds differently
/// under another CPU's floating point should not fail the build, a changed figure should.
pub fn assert_figure_up_to_date(committed: &Path, draw: impl Fn(&Path)) {
    if std::env::var_os("UPDATE_FIGURES").is_some() {
        draw(committed);
    }
    let fresh_path = std::env::temp_dir().join(format!(
        "fresh-{}-{}",
        std::process::id(),
        committed.file_name().and_then(|n| n.to_str()).unwrap_or("figure.svg")
    ));
    draw(&fresh_path);
    let fresh = std::fs::read_to_string(&fresh_path).expect("the figure was just drawn");
    std::fs::remove_file(&fresh_path).ok();
    let committed_svg = std::fs::read_to_string(committed).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; draw it with UPDATE_FIGURES=1",
            committed.display()
        )
    });
    let (fresh_lines, committed_lines): (Vec<&str>, Vec<&str>) =
        (fresh.lines().collect(), committed_svg.lines().collect());
    let same = fresh_lines.iter().zip(&committed_lines).filter(|(a, b)| a == b).count();
    assert!(
        fresh_lines.len() == committed_lines.len() && same as f64 >= 0.99 * fresh_lines.len() as f64,
        "{} is out of date ({same} of {} lines match): rerun this test with UPDATE_FIGURES=1",
        committed.display(),
        fresh_lines.len()
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::coord::Shift;

    use crate::train::LossPoint;

    #[test]
    #[cfg(feature = "png")]
    fn an_svg_becomes_a_png_of_its_size_with_its_colours_on_white() {
        use resvg::tiny_skia::Pixmap;
        let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30">
            <rect x="0" y="0" width="20" height="30" fill="rgb(255,0,0)"/></svg>"#;
        let path = std::env::temp_dir().join(format!("svg-to-png-{}.png", std::process::id()));
        svg_to_png(svg, &path).unwrap();
        let png = Pixmap::load_png(&path).unwrap();
        std::fs::remove_file(&path).ok();
        assert_eq!((png.width(), png.height()), (40, 30));
        let rgb = |x, y| {
            let p = png.pixel(x, y).unwrap();
            (p.red(), p.green(), p.blue())
        };
        assert_eq!(rgb(5, 15), (255, 0, 0), "inside the rectangle");
        assert_eq!(rgb(35, 15), (255, 255, 255), "the background");
    }

    #[test]
    #[cfg(feature = "png")]
    fn a_document_that_is_not_svg_is_an_error_and_writes_nothing() {
        let path = std::env::temp_dir().join(format!("not-svg-{}.png", std::process::id()));
        assert!(svg_to_png("not an svg", &path).is_err());
        assert!(!path.exists());
    }

    #[test]
    fn ticks_are_round_numbers_labelled_as_a_reader_writes_them() {
        assert_eq!(nice_ticks(0.0, 2000.0, 5), [0.0, 500.0, 1000.0, 1500.0, 2000.0]);
        assert_eq!(nice_ticks(0.44, 1.68, 5), [0.6, 0.8, 1.0, 1.2, 1.4, 1.6]);
        assert!(nice_ticks(1.0, 1.0, 5).is_empty());
        let labels: Vec<String> = [200.0, 0.55, 1.0, 0.6000000000000001, 1e-4, -0.0]
            .map(tick_label)
            .into();
        assert_eq!(labels, ["200", "0.55", "1", "0.6", "1e-4", "0"]);
    }

    /// What `draw` draws on an SVG canvas of `size` pixels.
    fn svg_of(size: (u32, u32), draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>)) -> String {
        let mut svg = String::new();
        {
            let area = SVGBackend::with_string(&mut svg, size).into_drawing_area();
            draw(&area);
            area.present().unwrap();
        }
        svg
    }

    /// The labels of an SVG drawing, as `(text-anchor, text)`: plotters anchors the labels of a left axis at their
    /// `end`, those of a bottom axis at their `middle`, and upright ones at their `start`.
    fn labels(svg: &str) -> Vec<(String, String)> {
        svg.split("<text ")
            .skip(1)
            .map(|element| {
                let anchor = element
                    .split("text-anchor=\"")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next());
                let text = element
                    .split_once('>')
                    .map_or("", |(_, rest)| rest.split("</text>").next().unwrap_or(""));
                (anchor.unwrap_or_default().to_string(), text.trim().to_string())
            })
            .collect()
    }

    /// Panics unless every expected label stands on the axis whose anchor is given.
    fn assert_labels(svg: &str, anchor: &str, expected: &[&str]) {
        let found: Vec<String> = labels(svg)
            .into_iter()
            .filter(|(a, _)| a == anchor)
            .map(|(_, t)| t)
            .collect();
        for label in expected {
            assert!(
                found.iter().any(|t| t == label),
                "no label {label:?} anchored at {anchor}; found {found:?}"
            );
        }
    }

    fn history(losses: impl Fn(usize) -> f32, steps: usize) -> Vec<LossPoint> {
        (0..steps)
            .map(|step| LossPoint {
                step,
                train_loss: losses(step),
                val_loss: (step % 100 == 99).then(|| losses(step) * 1.02),
                learning_rate: 1e-3,
            })
            .collect()
    }

    #[test]
    fn every_figure_kind_numbers_or_names_both_axes() {
        // A loss that falls by less than a decade (chapter 4's plateau at 0.55) and one that falls by two.
        let narrow = svg_of((760, 440), |area| {
            draw_loss_curve(area, &history(|s| 0.55 + 0.8 * (-(s as f32) / 100.0).exp(), 800)).unwrap()
        });
        assert_labels(&narrow, "end", &["0.6", "0.8", "1", "1.2"]);
        assert_labels(&narrow, "middle", &["0", "200", "400", "600"]);
        let wide = svg_of((760, 440), |area| {
            draw_loss_curve(area, &history(|s| 0.05 + 4.0 * (-(s as f32) / 50.0).exp(), 2000)).unwrap()
        });
        assert_labels(&wide, "end", &["0.1", "0.2", "0.5", "1", "2"]);
        assert_labels(&wide, "middle", &["0", "1000", "2000"]);
        for svg in [&narrow, &wide] {
            let decimal_steps: Vec<_> = labels(svg).into_iter().filter(|(_, t)| t.ends_with(".0")).collect();
            assert!(
                decimal_steps.is_empty(),
                "labels written with a useless decimal: {decimal_steps:?}"
            );
        }

        // A numbered heatmap (positions by dimensions), and one named by sentences too long to print whole.
        let grid: Vec<Vec<f32>> = (0..12).map(|r| (0..16).map(|c| (r * c) as f32).collect()).collect();
        let numbered = svg_of((700, 500), |area| {
            draw_heatmap(area, &grid, "grid", ("column", &[]), ("row", &[])).unwrap()
        });
        assert_labels(&numbered, "end", &["0", "4", "10"]);
        assert_labels(&numbered, "middle", &["0", "6", "14"]);
        let axis_numbers: Vec<String> = labels(&numbered)
            .into_iter()
            .filter(|(anchor, text)| anchor != "start" && text.parse::<f64>().is_ok())
            .map(|(_, text)| text)
            .collect();
        assert!(
            axis_numbers.iter().all(|t| !t.contains('.')),
            "cells are numbered by whole numbers: {axis_numbers:?}"
        );
        let sentences: Vec<String> = [
            "A man is eating food.",
            "A man is eating a piece of bread.",
            "The girl is carrying a baby.",
            "A man is riding a horse.",
            "A monkey is playing drums.",
        ]
        .map(String::from)
        .into();
        let similarity: Vec<Vec<f32>> = (0..5)
            .map(|r| (0..5).map(|c| if r == c { 1.0 } else { 0.3 }).collect())
            .collect();
        let named = svg_of((760, 560), |area| {
            draw_heatmap(area, &similarity, "similarity", ("", &sentences), ("", &sentences)).unwrap()
        });
        let shortened = [
            "A man is eating food.",
            "A man is eating a piece…",
            "The girl is carrying a…",
        ];
        assert_labels(&named, "end", &shortened);
        assert_labels(&named, "start", &shortened);

        // A confusion matrix: the class names on both axes and the count in every cell.
        let classes = ["ham".to_string(), "spam".to_string()];
        let confusion = svg_of((360, 300), |area| {
            draw_confusion_matrix(area, &[vec![961, 4], vec![12, 137]], &classes, "confusion").unwrap()
        });
        assert_labels(&confusion, "end", &["ham", "spam"]);
        assert_labels(&confusion, "middle", &["ham", "spam", "961", "4", "12", "137"]);
    }
}
