//! The chapter's figures in the book are what this crate draws (see `common::figures`).

use std::path::Path;

use common::figures::assert_figure_up_to_date;

#[test]
fn the_gradient_profile_figure_is_up_to_date() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book/src/figures/ch04_gradient_profiles.svg");
    assert_figure_up_to_date(&committed, |path| {
        transformer::plots::write_gradient_profiles_svg(path).unwrap()
    });
}

#[test]
fn the_architecture_figure_is_up_to_date() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book/src/figures/ch04_architecture.svg");
    assert_figure_up_to_date(&committed, |path| {
        transformer::plots::write_architecture_svg(path).unwrap()
    });
}
