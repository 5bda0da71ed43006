//! The fused kernels against what they replace, on every backend: values, gradients (against burn's own operations
//! and central finite differences), with gradients tracked or not; the counter-based dropout; chapter 5's GPT and
//! chapter 6's BERT and chapter 7's classifier on them, and chapter 5's sampler. One test binary for the crate: each links burn.

mod bert;
mod causal_softmax;
mod classify;
mod dropout;
mod gelu;
mod generation;
mod gpt;

use common::testing::max_abs_diff;

/// The losses of three training steps and a weight after them, on the kernels, are the chapter's to 1e-5 (float
/// rounding only); `what` names the run in the messages.
fn assert_trains_as(chapter: &(Vec<f32>, Vec<f32>), kernels: &(Vec<f32>, Vec<f32>), what: &str) {
    let worst = max_abs_diff(&chapter.0, &kernels.0);
    assert!(worst < 1e-5, "{what}: losses {:?} and {:?}", chapter.0, kernels.0);
    let worst = max_abs_diff(&chapter.1, &kernels.1);
    assert!(
        worst < 1e-5,
        "{what}: the weights after three steps differ by {worst:e}"
    );
}
