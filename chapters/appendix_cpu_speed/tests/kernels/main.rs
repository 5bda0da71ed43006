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
