//! The chapter's figure in the book is what this crate draws (see `common::figures`).

use std::path::Path;

use common::figures::assert_figure_up_to_date;

#[test]
fn the_heads_figure_is_up_to_date() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book/src/figures/ch03_heads.svg");
    assert_figure_up_to_date(&committed, |path| multi_head::plots::write_heads_svg(path).unwrap());
}
