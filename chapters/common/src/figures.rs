//! The book's figures: each is drawn by a chapter's code as SVG, rasterised to PNG where a file viewer needs one,
//! and kept honest by a test that redraws it and compares.

use std::error::Error;
use std::path::Path;

/// Rasterises an SVG document into a PNG file of the same size, on a white background, with the system's fonts (a
/// machine without any gets the drawing without its labels).
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
    use resvg::tiny_skia::Pixmap;

    use super::*;

    #[test]
    fn an_svg_becomes_a_png_of_its_size_with_its_colours_on_white() {
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
    fn a_document_that_is_not_svg_is_an_error_and_writes_nothing() {
        let path = std::env::temp_dir().join(format!("not-svg-{}.png", std::process::id()));
        assert!(svg_to_png("not an svg", &path).is_err());
        assert!(!path.exists());
    }
}
