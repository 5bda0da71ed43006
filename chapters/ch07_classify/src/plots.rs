//! The chapter's figure: precision-recall curves, one per model, on the same axes.

use std::error::Error;
use std::path::Path;

use common::metrics::PrPoint;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Precision against recall for each `(name, curve)`, a step plot as average precision integrates it.
pub fn draw_pr_curves<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    curves: &[(String, Vec<PrPoint>)],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    area.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "Precision-recall on the test split (spam = positive)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(0.0..1.0, 0.0..1.02)?;
    chart
        .configure_mesh()
        .x_desc("recall")
        .y_desc("precision")
        .x_label_formatter(&|recall| common::figures::tick_label(*recall))
        .y_label_formatter(&|precision| common::figures::tick_label(*precision))
        .draw()?;
    for (i, (name, curve)) in curves.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let mut points = vec![(0.0, curve.first().map_or(1.0, |p| p.precision))];
        points.extend(curve.iter().map(|p| (p.recall, p.precision)));
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// [`draw_pr_curves`] into an SVG file.
pub fn write_pr_curves_svg(path: &Path, curves: &[(String, Vec<PrPoint>)]) -> Result<(), Box<dyn Error>> {
    let root = SVGBackend::new(path, (640, 440)).into_drawing_area();
    draw_pr_curves(&root, curves).map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}
