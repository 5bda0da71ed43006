//! # Appendix: making it fast on a CPU
//!
//! Chapter 5's GPT, as a reader studies it, runs burn's operations one after another: each a pass over its input
//! and a new tensor. On burn's CPU backend (`flex`) a handful of them dominate a training step; this crate replaces
//! them with kernels written for the job, each tested against what it replaces, and plugs them into the training
//! loop as a task of its own ([`gpt`](mod@gpt)); its binary runs chapter 5's command line with them. Nothing here
//! changes what is computed, only how:
//!
//! - [`gelu`]: GELU (the exact form and GPT-2's tanh form) and its derivative in one vectorised loop, with a
//!   backward pass that is one product;
//! - [`causal_softmax`](mod@causal_softmax): the attention's scale, causal mask and softmax in one loop per row,
//!   with no mask tensor, and a backward pass from the output alone;
//! - [`attention`]: chapter 3's causal self-attention on that softmax;
//! - [`dropout`](mod@dropout): dropout masks drawn in parallel from a counter-based generator, each a function of
//!   its key (seed, step, site);
//! - [`data_parallel`]: each batch split over the CPU's cores, one copy of the model per slice, the gradients
//!   summed;
//! - [`gpt`](mod@gpt): chapter 5's GPT and its training task on these kernels;
//! - [`generation`]: chapter 5's sampler on them, every product of a generation step on all cores;
//! - [`bert`](mod@bert): chapter 6's BERT and its pretraining task on them;
//! - [`classify`](mod@classify): chapter 7's classifier and its fine-tuning task on them;
//! - [`memory`]: the allocator told to keep freed memory for the next step's tensors;
//! - [`bench`]: the benchmarks' rounds, the chapter's code and the kernels taking turns.
//!
//! The book's appendix "Making it fast on a CPU" explains what dominates a step, what each kernel does and what it
//! saved.

pub mod attention;
pub mod bench;
pub mod bert;
pub mod causal_softmax;
pub mod classify;
pub mod data_parallel;
pub mod dropout;
pub mod gelu;
pub mod generation;
pub mod gpt;
pub mod memory;
