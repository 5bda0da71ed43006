//! The chapter's figures in the book are what this crate draws (see `common::figures`).

use std::path::{Path, PathBuf};

use attention::plots::{write_sentence_attention_svg, write_softmax_scaling_svg};
use common::figures::assert_figure_up_to_date;

fn figure(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../book/src/figures")
        .join(name)
}

/// One test, not three: each figure seeds the CPU backend's random generator, which test threads running side by
/// side would share.
#[test]
fn the_chapter_figures_are_up_to_date() {
    assert_figure_up_to_date(&figure("ch02_attention_sentence.svg"), |path| {
        write_sentence_attention_svg(path, false).unwrap()
    });
    assert_figure_up_to_date(&figure("ch02_attention_sentence_causal.svg"), |path| {
        write_sentence_attention_svg(path, true).unwrap()
    });
    assert_figure_up_to_date(&figure("ch02_softmax_scaling.svg"), |path| {
        write_softmax_scaling_svg(path).unwrap()
    });
}
