//! The corpus: Tiny Shakespeare, and the train/validation split.

use std::path::Path;

use common::{DataError, TINY_SHAKESPEARE};

/// The text of Tiny Shakespeare: `explicit` (the `--data PATH` flag) if given, otherwise the cached download (see
/// [`common::data`] for where it is looked for and how it is fetched).
pub fn load_tiny_shakespeare(explicit: Option<&Path>) -> Result<String, DataError> {
    TINY_SHAKESPEARE.read_to_string(explicit)
}

/// Splits a sequence into its first `train_fraction` (for training) and the rest (for validation), as nanoGPT does:
/// contiguous halves, not a shuffle, so that validation text is text the model has never seen any part of.
///
/// ```
/// let (train, val) = tokens::data::split_train_val(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9);
/// assert_eq!((train.len(), val), (9, &[10][..]));
/// ```
pub fn split_train_val<T>(items: &[T], train_fraction: f64) -> (&[T], &[T]) {
    assert!(
        (0.0..=1.0).contains(&train_fraction),
        "train_fraction must lie in [0, 1], got {train_fraction}"
    );
    let n_train = (items.len() as f64 * train_fraction) as usize;
    items.split_at(n_train)
}
