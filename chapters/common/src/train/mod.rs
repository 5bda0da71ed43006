//! The training kit: what every chapter that trains a model shares, so that a chapter's own training code is only
//! what is particular to its task (its loss, its batches, its evaluation).
//!
//! - [`engine`]: the loop itself, which a chapter drives through its [`Task`] (batches, loss, evaluation);
//! - [`schedule`]: the learning rate over a run (linear warm-up, then a half cosine down to a floor);
//! - [`optim`]: AdamW with weight decay on matrices only, and gradient clipping by global norm;
//! - [`history`]: the loss of every step (a NaN is a [`Diverged`] error) and a progress bar;
//! - [`checkpoint`]: a run's model, optimizer state, step and configuration, written atomically and read back with
//!   errors that say what does not fit;
//! - [`run_dir`]: the directory a run writes to, which a new run never takes over from an earlier one unasked.
//!
//! The loss curve is drawn by [`crate::figures::draw_loss_curve`].

pub mod checkpoint;
pub mod engine;
pub mod history;
pub mod optim;
pub mod run_dir;
pub mod schedule;

pub use checkpoint::CheckpointError;
pub use engine::{Keep, Plan, Saved, Score, Task, Throughput, Trainer, backpropagate, step_seed};
pub use history::{Diverged, LossPoint, check_finite, progress_bar};
pub use optim::{adamw, clip_global_norm};
pub use run_dir::{RunDir, Start};
pub use schedule::WarmupCosine;
