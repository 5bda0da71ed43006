//! What a run records of itself: the loss of every step, checked to be a number, and a progress bar to watch it by.

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

/// A loss that is not a finite number: the run has diverged, and every step after it would only spread the NaN.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error(
    "the training loss is {loss} at step {step}: the run diverged, most often because the learning rate is too high \
     for this model (lower it, or lengthen the warm-up). Training stopped there and saved nothing from that step \
     on: a checkpoint saved before it, if any, is kept"
)]
pub struct Diverged {
    pub step: usize,
    pub loss: f32,
}

/// `loss`, the loss of `step`, if it is finite; a [`Diverged`] error otherwise.
pub fn check_finite(step: usize, loss: f32) -> Result<f32, Diverged> {
    if loss.is_finite() {
        Ok(loss)
    } else {
        Err(Diverged { step, loss })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loss_that_is_not_a_number_is_a_divergence_naming_the_step() {
        assert_eq!(check_finite(3, 1.5), Ok(1.5));
        for loss in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let error = check_finite(7, loss).unwrap_err();
            assert_eq!(error.step, 7);
            assert_eq!(error.loss.to_bits(), loss.to_bits());
            let message = error.to_string();
            assert!(
                message.contains("at step 7") && message.contains("learning rate"),
                "{message}"
            );
        }
    }
}
