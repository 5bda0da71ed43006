//! The chapter's figures: a batch as collate makes it, with what the loss counts; and the synthetic experiment's
//! accuracy per family.

use std::error::Error;
use std::path::Path;

use plotters::prelude::*;

use crate::experiment::{ARMS, ArmResult, HELD_OUT_FAMILY, majority_baseline, mean_std, seeds_of};
use crate::synthetic::Family;

/// The kinds of cell in the batch diagram, with their colours.
const PROMPT: RGBColor = RGBColor(200, 200, 200);
const RESPONSE: RGBColor = RGBColor(120, 170, 230);
const END: RGBColor = RGBColor(110, 190, 110);
const IGNORED: RGBColor = RGBColor(255, 255, 255);

// ANCHOR: diagram
/// Two examples collated: each row's inputs, its targets (the inputs shifted by one), and which targets the loss
/// counts with the prompt masked. Prompt tokens are grey, response tokens blue, end-of-text green; an ignored
/// target is blank.
pub fn draw_batch_diagram<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    area.fill(&WHITE)?;
    let font = ("sans-serif", 15).into_font();
    let small = ("sans-serif", 13).into_font();
    // Example 1: prompt p1 p2 p3, response r1 r2; example 2: prompt q1, response s1. Windows of t = 5.
    let rows: [(&str, Vec<(&str, RGBColor)>); 6] = [
        (
            "inputs 1",
            cells(
                &["p1", "p2", "p3", "r1", "r2"],
                &[PROMPT, PROMPT, PROMPT, RESPONSE, RESPONSE],
            ),
        ),
        (
            "targets 1",
            cells(
                &["p2", "p3", "r1", "r2", "eot"],
                &[PROMPT, PROMPT, RESPONSE, RESPONSE, END],
            ),
        ),
        (
            "loss counts",
            cells(
                &["", "", "r1", "r2", "eot"],
                &[IGNORED, IGNORED, RESPONSE, RESPONSE, END],
            ),
        ),
        (
            "inputs 2",
            cells(&["q1", "s1", "eot", "eot", "eot"], &[PROMPT, RESPONSE, END, END, END]),
        ),
        (
            "targets 2",
            cells(
                &["s1", "eot", "-100", "-100", "-100"],
                &[RESPONSE, END, IGNORED, IGNORED, IGNORED],
            ),
        ),
        (
            "loss counts",
            cells(&["s1", "eot", "", "", ""], &[RESPONSE, END, IGNORED, IGNORED, IGNORED]),
        ),
    ];
    let (left, width, height) = (150, 64, 30);
    for (r, (label, row)) in rows.iter().enumerate() {
        let y = 40 + r as i32 * (height + 8) + if r >= 3 { 24 } else { 0 };
        area.draw(&Text::new(*label, (20, y + 8), font.clone()))?;
        for (i, (text, colour)) in row.iter().enumerate() {
            let x = left + i as i32 * (width + 6);
            area.draw(&Rectangle::new([(x, y), (x + width, y + height)], colour.filled()))?;
            area.draw(&Rectangle::new(
                [(x, y), (x + width, y + height)],
                BLACK.stroke_width(1),
            ))?;
            area.draw(&Text::new(*text, (x + 10, y + 8), small.clone()))?;
        }
    }
    for (i, position) in (0..5).enumerate() {
        let x = left + i as i32 * (width + 6) + 24;
        area.draw(&Text::new(format!("j={position}"), (x, 18), small.clone()))?;
    }
    let legend = [
        (PROMPT, "prompt"),
        (RESPONSE, "response"),
        (END, "end-of-text"),
        (IGNORED, "ignored"),
    ];
    for (i, (colour, text)) in legend.iter().enumerate() {
        let x = 150 + i as i32 * 120;
        area.draw(&Rectangle::new([(x, 300), (x + 18, 318)], colour.filled()))?;
        area.draw(&Rectangle::new([(x, 300), (x + 18, 318)], BLACK.stroke_width(1)))?;
        area.draw(&Text::new(*text, (x + 24, 302), small.clone()))?;
    }
    area.present()
}
// ANCHOR_END: diagram

fn cells<'a>(texts: &[&'a str], colours: &[RGBColor]) -> Vec<(&'a str, RGBColor)> {
    texts.iter().copied().zip(colours.iter().copied()).collect()
}

/// The batch diagram as SVG at `path` (the book's figure).
pub fn write_batch_diagram_svg(path: &Path) -> Result<(), Box<dyn Error>> {
    let area = SVGBackend::new(path, (620, 330)).into_drawing_area();
    draw_batch_diagram(&area)?;
    Ok(())
}

/// Per trained family, the exact-match accuracy (%) on new items of every fine-tuned row of the table, beside the
/// baseline without a model (each family's most frequent training answer), the mean over the seeds of `results`,
/// with a whisker of one standard deviation either side.
pub fn draw_accuracy<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    results: &[ArmResult],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    area.fill(&WHITE)?;
    let families: Vec<Family> = Family::ALL.into_iter().filter(|&f| f != HELD_OUT_FAMILY).collect();
    let arms: Vec<_> = ARMS.iter().filter(|arm| arm.mask_prompt.is_some()).collect();
    let colours = [
        RGBColor(230, 140, 60),
        RGBColor(200, 60, 40),
        RGBColor(120, 170, 230),
        RGBColor(40, 90, 180),
    ];
    let group = arms.len() as f64 + 2.0;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "Exact match on new items, per family (mean ± std over seeds)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..families.len() as f64 * group, 0.0..100.0)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("accuracy (%)")
        .y_labels(6)
        .draw()?;
    for (f, family) in families.iter().enumerate() {
        let x = f as f64 * group;
        let label_position = (x + 0.3, -6.0);
        chart.draw_series(std::iter::once(Text::new(
            family.name(),
            label_position,
            ("sans-serif", 13),
        )))?;
    }
    let baselines: Vec<_> = seeds_of(results).iter().map(|&seed| majority_baseline(seed)).collect();
    let mut rows: Vec<(String, RGBColor, Vec<Vec<f64>>)> = vec![(
        "no model: the most frequent training answer".to_string(),
        RGBColor(150, 150, 150),
        families
            .iter()
            .map(|family| baselines.iter().map(|b| 100.0 * b[0][family].rate()).collect())
            .collect(),
    )];
    for (a, arm) in arms.iter().enumerate() {
        let rates = families
            .iter()
            .map(|family| {
                (results.iter().filter(|r| r.arm == **arm))
                    .map(|r| 100.0 * r.new_items.get(family).map_or(0.0, |a| a.rate()))
                    .collect()
            })
            .collect();
        rows.push((arm.describe(), colours[a % colours.len()], rates));
    }
    for (a, (label, colour, rates)) in rows.into_iter().enumerate() {
        let bars: Vec<(f64, f64, f64)> = rates
            .iter()
            .enumerate()
            .map(|(f, rates)| {
                let (mean, std) = mean_std(rates);
                (f as f64 * group + a as f64 + 0.5, mean, std)
            })
            .collect();
        chart
            .draw_series(
                bars.iter()
                    .map(|&(x, mean, _)| Rectangle::new([(x - 0.4, 0.0), (x + 0.4, mean)], colour.filled())),
            )?
            .label(label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled()));
        chart.draw_series(bars.iter().map(|&(x, mean, std)| {
            PathElement::new(
                vec![(x, (mean - std).max(0.0)), (x, (mean + std).min(100.0))],
                BLACK.stroke_width(1),
            )
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.9))
        .draw()?;
    area.present()
}

/// The accuracy figure as SVG and PNG in `dir` (`accuracy.svg`, `accuracy.png`).
#[cfg(feature = "png")]
pub fn write_accuracy(dir: &Path, results: &[ArmResult]) -> Result<std::path::PathBuf, Box<dyn Error>> {
    let svg = dir.join("accuracy.svg");
    {
        let area = SVGBackend::new(&svg, (900, 420)).into_drawing_area();
        draw_accuracy(&area, results)?;
    }
    let png = dir.join("accuracy.png");
    common::figures::svg_to_png(&std::fs::read_to_string(&svg)?, &png)?;
    Ok(png)
}
