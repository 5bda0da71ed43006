//! The book's figures: each is drawn by a chapter's code as SVG, rasterised to PNG where a file viewer needs one,
//! and kept honest by a test that redraws it and compares. The one figure every training chapter draws, the loss
//! curve, is here.

use std::error::Error;
use std::path::Path;

use plotters::prelude::*;

use crate::train::LossPoint;

/// Rasterises an SVG document into a PNG file of the same size, on a white background, with the system's fonts (a
/// machine without any gets the drawing without its labels).
#[cfg(feature = "png")]
pub fn svg_to_png(svg: &str, path: &Path) -> Result<(), Box<dyn Error>> {
    use resvg::{tiny_skia, usvg};
    let mut options = usvg::Options::default();
    options.fontdb_mut().load_system_fonts();
    let tree = usvg::Tree::from_str(svg, &options)?;
    let size = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height()).ok_or("an empty figure")?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap.save_png(path)?;
    Ok(())
}

/// Training loss (every step, light) and validation loss (at each evaluation, dark) against the step, log scale.
pub fn draw_loss_curve<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    history: &[LossPoint],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    area.fill(&WHITE)?;
    let steps = history.len().max(2) as f64;
    let losses = history
        .iter()
        .map(|p| p.train_loss)
        .chain(history.iter().filter_map(|p| p.val_loss));
    let (lo, hi) = losses
        .filter(|l| l.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), l| (lo.min(l), hi.max(l)));
    // With no finite loss (no step taken yet, or a run that diverged) any range will do; an infinite one would
    // leave the log axis no tick marks to find.
    let (lo, hi) = if lo <= hi {
        ((lo.max(1e-4) * 0.8) as f64, (hi.max(1e-3) * 1.2) as f64)
    } else {
        (1.0, 10.0)
    };
    let mut chart = ChartBuilder::on(area)
        .caption("Loss during training", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..steps, (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("cross-entropy (log scale)")
        .draw()?;
    let train: Vec<(f64, f64)> = history.iter().map(|p| (p.step as f64, p.train_loss as f64)).collect();
    chart
        .draw_series(LineSeries::new(train, BLUE.mix(0.35)))?
        .label("training batch")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.mix(0.35)));
    let val: Vec<(f64, f64)> = history
        .iter()
        .filter_map(|p| p.val_loss.map(|v| (p.step as f64, v as f64)))
        .collect();
    chart
        .draw_series(LineSeries::new(val.clone(), RED.stroke_width(2)))?
        .label("validation")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.stroke_width(2)));
    chart.draw_series(val.into_iter().map(|p| Circle::new(p, 3, RED.filled())))?;
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.9))
        .draw()?;
    area.present()
}

/// [`draw_loss_curve`] into an SVG file.
pub fn write_loss_curve_svg(path: &Path, history: &[LossPoint]) -> Result<(), Box<dyn Error>> {
    let area = SVGBackend::new(path, (760, 440)).into_drawing_area();
    draw_loss_curve(&area, history)?;
    Ok(())
}

/// [`draw_loss_curve`] into a PNG file: drawn as SVG, then rasterised by resvg with the system's fonts (a machine
/// without any gets the curves without their labels).
#[cfg(feature = "png")]
pub fn write_loss_curve_png(path: &Path, history: &[LossPoint]) -> Result<(), Box<dyn Error>> {
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, (760, 440)).into_drawing_area();
        draw_loss_curve(&area, history)?;
    }
    svg_to_png(&svg, path)
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
    #[cfg(feature = "png")]
    fn the_loss_curve_is_also_written_as_png() {
        let history: Vec<LossPoint> = (0..100)
            .map(|step| LossPoint {
                step,
                train_loss: 3.0 / (1.0 + step as f32),
                val_loss: (step % 25 == 24).then(|| 3.2 / (1.0 + step as f32)),
                learning_rate: 1e-3,
            })
            .collect();
        let path = std::env::temp_dir().join(format!("loss-curve-{}.png", std::process::id()));
        write_loss_curve_png(&path, &history).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).ok();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG file");
        // Width and height, big-endian, in the IHDR chunk.
        assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), 760);
        assert_eq!(u32::from_be_bytes(bytes[20..24].try_into().unwrap()), 440);
    }

    #[test]
    fn a_loss_curve_without_finite_losses_is_still_drawn() {
        let point = |step, train_loss| LossPoint {
            step,
            train_loss,
            val_loss: None,
            learning_rate: 1e-3,
        };
        let histories = [vec![], vec![point(0, f32::NAN), point(1, f32::INFINITY)]];
        for (i, history) in histories.into_iter().enumerate() {
            // A degenerate axis range once sent plotters' tick search into an endless loop: a watchdog turns a hang
            // into a failure.
            let path = std::env::temp_dir().join(format!("empty-loss-curve-{}-{i}.svg", std::process::id()));
            let (done, finished) = std::sync::mpsc::channel();
            let drawing = path.clone();
            std::thread::spawn(move || done.send(write_loss_curve_svg(&drawing, &history).map_err(|e| e.to_string())));
            let result = finished
                .recv_timeout(std::time::Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("history {i}: drawing did not finish"));
            result.unwrap();
            assert!(std::fs::read_to_string(&path).unwrap().contains("<svg"));
            std::fs::remove_file(&path).ok();
        }
    }
}
