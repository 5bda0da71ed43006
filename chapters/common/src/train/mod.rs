//! The training kit: what every chapter that trains a model shares, so that a chapter's own training code is only
//! what is particular to its task (its loss, its batches, its evaluation).
//!
//! - [`schedule`]: the learning rate over a run (linear warm-up, then a half cosine down to a floor);
//! - [`optim`]: AdamW with weight decay on matrices only, and gradient clipping by global norm;
//! - [`history`]: the loss of every step and a progress bar;
//! - [`checkpoint`]: a run's model, optimizer state, step and configuration, written atomically and read back with
//!   errors that say what does not fit.
//!
//! The loss curve is drawn by [`crate::figures::draw_loss_curve`].

pub mod checkpoint;
pub mod history;
pub mod optim;
pub mod schedule;

pub use checkpoint::CheckpointError;
pub use history::{LossPoint, progress_bar};
pub use optim::{adamw, clip_global_norm};
pub use schedule::WarmupCosine;
