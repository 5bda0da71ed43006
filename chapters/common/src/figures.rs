//! Keeping the book's figures honest: each is drawn by a chapter's code, and a test redraws it and compares.

use std::path::Path;

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
