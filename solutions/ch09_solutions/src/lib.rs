//! Answers to chapter 9's exercises.
//!
//! 1. [`masking`]: how much of the loss the prompt takes when it is not masked: the share of a batch's targets
//!    that are prompt tokens, most of them the preamble every example repeats.
//! 2. [`doubling`]: a new family for the synthetic set, "double the number", with its checker and its items held
//!    out of training as the other families' are.
//! 3. [`dpo`]: direct preference optimisation's loss on pairs of a preferred and a rejected response, from the
//!    log-probabilities the policy and a frozen reference give each.

pub mod doubling;
pub mod dpo;
pub mod masking;

pub use doubling::{doubling_examples, is_double};
pub use dpo::{dpo_loss, response_log_probability};
pub use masking::{TargetShares, target_shares};
