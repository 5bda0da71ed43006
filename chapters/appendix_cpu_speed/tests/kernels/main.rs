//! The fused kernels against what they replace, on every backend: values, gradients (against burn's own operations
//! and central finite differences), with gradients tracked or not; chapter 5's GPT on them. One test binary for the
//! crate: each links burn.

mod causal_softmax;
mod gelu;
mod gpt;
