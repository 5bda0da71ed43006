//! The loss of instruction fine-tuning: next-token cross-entropy over the targets that are not ignored.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use crate::collate::IGNORE;

// ANCHOR: loss
/// L = -(1/|K|) Σ_{(b,i) ∈ K} log softmax(z_{b,i})[y_{b,i}] over the positions K whose target y is not [`IGNORE`]
/// (PyTorch's `cross_entropy(ignore_index=-100)`). An ignored position's term is set to 0 and left out of the count:
/// it adds nothing to the loss, nor to the gradient. Every batch of [`fn@crate::collate`] keeps at least one target
/// per example (its end-of-text token), so K is never empty.
pub fn masked_cross_entropy(logits: Tensor<3>, targets: Tensor<2, Int>) -> Tensor<1> {
    let [batch, t, vocab] = logits.dims();
    let targets = targets.reshape([batch * t, 1]);
    let ignored = targets.clone().equal_elem(IGNORE); // [batch·t, 1]
    let log_p = log_softmax(logits.reshape([batch * t, vocab]), 1);
    // An ignored target still needs a valid index to gather; its term is then replaced by 0.
    let picked = log_p.gather(1, targets.mask_fill(ignored.clone(), 0));
    let kept = ignored.clone().bool_not().float().sum();
    picked.mask_fill(ignored, 0.0).sum().neg() / kept
}
// ANCHOR_END: loss
