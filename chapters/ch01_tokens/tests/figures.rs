//! The book's figures are made by this crate's code; this test fails when the committed figure no longer matches
//! what the code draws. Regenerate with `UPDATE_FIGURES=1 cargo test --workspace --test figures`.

use std::path::Path;

use common::figures::assert_figure_up_to_date;

#[test]
fn the_positional_encoding_figure_is_up_to_date() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book/src/figures/ch01_positional_encoding.svg");
    assert_figure_up_to_date(&committed, |path| {
        tokens::plots::write_positional_encoding_svg(path).unwrap()
    });
}
