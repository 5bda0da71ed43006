//! Exercise 3: direct preference optimisation (Rafailov et al., 2023). Given a prompt x, a preferred response y_w
//! and a rejected one y_l, and a frozen copy of the fine-tuned model as the reference π_ref, the policy π_θ
//! minimises
//!
//! L = -log σ(β [(log π_θ(y_w|x) - log π_ref(y_w|x)) - (log π_θ(y_l|x) - log π_ref(y_l|x))]),
//!
//! which raises the preferred response's likelihood relative to the reference more than the rejected one's, with no
//! reward model and no sampling; β sets how far the policy may move from the reference.

use burn::prelude::*;
use burn::tensor::activation::{log_sigmoid, log_softmax};
use gpt::Gpt;
use instruct::IGNORE;

/// log π(y|x) of each row of a batch: the sum of log p over the targets that are not [`IGNORE`] (collate with the
/// prompt masked, so that they are the response's tokens and its end-of-text token). `[batch]`.
pub fn response_log_probability(model: &Gpt, inputs: Tensor<2, Int>, targets: Tensor<2, Int>) -> Tensor<1> {
    let [batch, t] = targets.dims();
    let log_p = log_softmax(model.forward(inputs), 2);
    let ignored = targets.clone().equal_elem(IGNORE);
    let picked = log_p
        .gather(2, targets.mask_fill(ignored.clone(), 0).reshape([batch, t, 1]))
        .reshape([batch, t]);
    picked.mask_fill(ignored, 0.0).sum_dim(1).reshape([batch])
}

/// The mean DPO loss over a batch of pairs, from the four log-probabilities of each pair (`[batch]` each).
pub fn dpo_loss(
    policy_chosen: Tensor<1>,
    policy_rejected: Tensor<1>,
    reference_chosen: Tensor<1>,
    reference_rejected: Tensor<1>,
    beta: f64,
) -> Tensor<1> {
    let margin = (policy_chosen - reference_chosen) - (policy_rejected - reference_rejected);
    log_sigmoid(margin.mul_scalar(beta)).mean().neg()
}
