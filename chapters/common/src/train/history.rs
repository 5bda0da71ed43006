//! What a run records of itself: the loss of every step, and a progress bar to watch it by.

use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

/// Training loss and learning rate at one step, and the validation loss if the run evaluated after it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LossPoint {
    pub step: usize,
    pub train_loss: f32,
    pub val_loss: Option<f32>,
    pub learning_rate: f64,
}

/// A progress bar over `steps` steps starting at `start` (a resumed run), showing the step, a message (the
/// chapter's: loss, tokens or examples per second), the time spent and an estimate of the time left.
pub fn progress_bar(steps: usize, start: usize) -> ProgressBar {
    let bar = ProgressBar::new(steps as u64).with_position(start as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps, {msg} [{elapsed} < {eta}]")
            .expect("a valid template"),
    );
    bar
}

/// The bar's message: the latest loss and the throughput, `per_second` `unit`s (tokens, examples) a second.
pub fn progress_message(loss: f32, per_second: f64, unit: &str) -> String {
    format!("loss {loss:.3}, {per_second:.0} {unit}/s")
}
