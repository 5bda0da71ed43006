//! Answers to chapter 7's exercises.
//!
//! 1. [`weighted_cross_entropy`]: a class-weighted loss, so that the rare class (spam) counts more.
//! 2. [`threshold_for_precision`]: the decision threshold that keeps precision at a target and finds the most.
//! 3. [`rank_sweep`]: LoRA at several ranks, with the trainable parameters each costs and the score each reaches.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use classify::ClassifyError;
use classify::backbones::Pretrained;
use classify::data::Message;
use classify::training::{FineTuneConfig, fine_tune};
use common::metrics::PrPoint;

/// -Σ_i w_{y_i} log p(y_i | x_i) / Σ_i w_{y_i}: each example weighs what its class weighs (PyTorch's
/// `cross_entropy(weight=...)`, which also divides by the total weight). With weights n / (2 n_c) a class of
/// 13% weighs as much as one of 87%.
pub fn weighted_cross_entropy(logits: Tensor<2>, labels: Tensor<1, Int>, class_weights: [f32; 2]) -> Tensor<1> {
    let n = labels.dims()[0];
    let device = logits.device();
    let weights = Tensor::<1>::from_floats(class_weights, &device).select(0, labels.clone()); // [n]
    let log_p = log_softmax(logits, 1).gather(1, labels.reshape([n, 1])).reshape([n]);
    (log_p * weights.clone()).sum().neg() / weights.sum()
}

/// The lowest threshold on p(spam) whose precision is at least `target` on `curve` (from
/// [`common::metrics::precision_recall_curve`] on validation scores): the most spam found without letting more
/// than 1 - `target` of the flagged messages be ham. `None` if no threshold reaches the target.
pub fn threshold_for_precision(curve: &[PrPoint], target: f64) -> Option<PrPoint> {
    curve
        .iter()
        .filter(|p| p.precision >= target)
        .max_by(|a, b| a.recall.total_cmp(&b.recall).then(b.threshold.total_cmp(&a.threshold)))
        .copied()
}

/// One rank of the sweep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankResult {
    pub rank: usize,
    pub trainable_params: usize,
    pub best_val_spam_f1: f64,
}

/// Fine-tunes a fresh copy of the backbone (`backbone()`) with LoRA at each of `ranks` (α = 2r, so
/// α / r stays 2), returning what each costs and the best validation spam F_1 it reaches.
pub fn rank_sweep(
    config: &FineTuneConfig,
    backbone: impl Fn() -> Pretrained,
    ranks: &[usize],
    train: &[Message],
    val: &[Message],
    device: &Device,
) -> Result<Vec<RankResult>, ClassifyError> {
    ranks
        .iter()
        .map(|&rank| {
            let mut config = config.clone();
            config.lora.rank = rank;
            config.lora.alpha = 2.0 * rank as f64;
            let run = fine_tune(&config, backbone(), train, val, device, None, None)?;
            Ok(RankResult {
                rank,
                trainable_params: run.trainable_params,
                best_val_spam_f1: run.epochs[run.best_epoch - 1].val_spam_f1,
            })
        })
        .collect()
}
