//! The one figure every training chapter draws: the loss against the step.

use std::error::Error;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

use super::{nice_ticks, tick_label};
use crate::train::LossPoint;

/// Training loss (every step, light) and validation loss (at each evaluation, dark) against the step, log scale.
/// The loss axis is numbered however narrow its range (see [`loss_ticks`]); steps are whole numbers.
pub fn draw_loss_curve<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    history: &[LossPoint],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    area.fill(&WHITE)?;
    let steps = history.len().max(2) as i64;
    let losses = history
        .iter()
        .map(|p| p.train_loss)
        .chain(history.iter().filter_map(|p| p.val_loss));
    let (lo, hi) = losses
        .filter(|l| l.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), l| (lo.min(l), hi.max(l)));
    // With no finite loss (no step taken yet, or a run that diverged) any range will do; an infinite one would
    // leave the axis no tick marks to find.
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
        .build_cartesian_2d(0..steps, (lo..hi).log_scale().with_key_points(loss_ticks(lo, hi)))?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("cross-entropy (log scale)")
        .y_label_formatter(&|loss| tick_label(*loss))
        .draw()?;
    let train: Vec<(i64, f64)> = history.iter().map(|p| (p.step as i64, p.train_loss as f64)).collect();
    chart
        .draw_series(LineSeries::new(train, BLUE.mix(0.35)))?
        .label("training batch")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.mix(0.35)));
    let val: Vec<(i64, f64)> = history
        .iter()
        .filter_map(|p| p.val_loss.map(|v| (p.step as i64, v as f64)))
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

/// The numbered values of a log-scale loss axis from `lo` to `hi`: 1, 2 and 5 times each power of ten when the
/// range spans a decade or more, otherwise round numbers evenly spaced (a loss that falls from 1.4 to 0.55 gets
/// 0.6, 0.8, ..., 1.6 instead of the lone "1" a log axis would show).
pub fn loss_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if hi / lo < 10.0 {
        return nice_ticks(lo, hi, 5);
    }
    let (first, last) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    (first..=last)
        .flat_map(|power| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(power)))
        .filter(|v| (lo..=hi).contains(v))
        .collect()
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
    super::svg_to_png(&svg, path)
}

/// A figure that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw {}: {message}", path.display())]
pub struct DrawError {
    pub path: PathBuf,
    pub message: String,
}

/// A run's loss curve, `loss.svg` and `loss.png`, in its directory `dir`; returns the PNG's path. A figure that
/// cannot be written is an error naming the file: a run's outputs are what it promised.
#[cfg(feature = "png")]
pub fn write_loss_curves(dir: &Path, history: &[LossPoint]) -> Result<PathBuf, DrawError> {
    let (svg, png) = (dir.join("loss.svg"), dir.join("loss.png"));
    let failed = |path: &Path, e: Box<dyn Error>| DrawError {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    write_loss_curve_svg(&svg, history).map_err(|e| failed(&svg, e))?;
    write_loss_curve_png(&png, history).map_err(|e| failed(&png, e))?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_ticks_number_a_narrow_range_evenly_and_a_wide_one_by_decades() {
        assert_eq!(loss_ticks(0.44, 1.68), [0.6, 0.8, 1.0, 1.2, 1.4, 1.6]);
        assert_eq!(loss_ticks(2.2, 3.6), [2.2, 2.4, 2.6, 2.8, 3.0, 3.2, 3.4, 3.6]);
        assert_eq!(loss_ticks(0.08, 5.0), [0.1, 0.2, 0.5, 1.0, 2.0, 5.0]);
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
