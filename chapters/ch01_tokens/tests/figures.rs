//! The book's figures are made by this crate's code; this test fails when the committed figure no longer matches
//! what the code draws. Regenerate with `UPDATE_FIGURES=1 cargo test -p tokens --test figures`.

use std::path::Path;

fn check_figure(committed: &Path, draw: impl Fn(&Path)) {
    if std::env::var_os("UPDATE_FIGURES").is_some() {
        draw(committed);
    }
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh.svg");
    draw(&fresh);
    let (fresh, committed_svg) = (
        std::fs::read_to_string(fresh).unwrap(),
        std::fs::read_to_string(committed).unwrap(),
    );
    // Line by line, allowing a few cells whose colour rounds differently on another CPU's floating point.
    let (fresh_lines, committed_lines): (Vec<&str>, Vec<&str>) =
        (fresh.lines().collect(), committed_svg.lines().collect());
    assert_eq!(
        fresh_lines.len(),
        committed_lines.len(),
        "{} is out of date",
        committed.display()
    );
    let same = fresh_lines.iter().zip(&committed_lines).filter(|(a, b)| a == b).count();
    assert!(
        same as f64 >= 0.99 * fresh_lines.len() as f64,
        "{} is out of date ({same} of {} lines match): run UPDATE_FIGURES=1 cargo test -p tokens --test figures",
        committed.display(),
        fresh_lines.len()
    );
}

#[test]
fn the_positional_encoding_figure_is_up_to_date() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book/src/figures/ch01_positional_encoding.svg");
    check_figure(&committed, |path| {
        tokens::plots::write_positional_encoding_svg(path).unwrap()
    });
}
