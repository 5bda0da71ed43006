//! Answers to chapter 8's exercises.
//!
//! 1. [`sizes`]: GPT-2's four sizes by name, their shapes and parameter counts (the published 124M, 355M, 774M
//!    and 1.5B), and what their weights weigh; `gpt2 sample --model gpt2-medium` then loads one by name.
//! 2. [`beam_search`]: the `width` most probable continuations, each beam carrying its own KV cache.
//! 3. [`speculative`]: a small model drafts a few tokens, the large one checks them all in one pass; the output is
//!    distributed exactly as the large model's own.

pub mod beam_search;
pub mod sizes;
pub mod speculative;

pub use beam_search::{Beam, beam_search};
pub use sizes::{GPT2_SIZES, Gpt2Size};
pub use speculative::{Speculation, accept_or_resample, speculative_decode};

use burn::prelude::*;
use gpt::generation::GenerationError;

/// What beam search and speculative decoding refuse to do, each with what to change.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// An empty prompt, or a token outside the vocabulary.
    #[error(transparent)]
    Prompt(#[from] GenerationError),
    #[error("the beam width must be at least 1 (1 is greedy decoding)")]
    ZeroWidth,
    #[error("the lookahead must be at least 1 (the draft proposes that many tokens at a time)")]
    ZeroLookahead,
    /// `which` says whose context: "the context of" one model, "the smaller context," of two.
    #[error("{tokens} tokens (the prompt, the new ones, any lookahead) exceed {which} {context}: shorten one of them")]
    TooLong {
        tokens: usize,
        which: &'static str,
        context: usize,
    },
    #[error(
        "the draft's vocabulary has {draft} tokens and the target's {target}: both models must share one tokenizer"
    )]
    VocabularyMismatch { draft: usize, target: usize },
}

/// `prompt` checked against `model`'s vocabulary: not empty, every id in it.
fn check_prompt(model: &gpt::Gpt, prompt: &[u32]) -> Result<(), DecodeError> {
    if prompt.is_empty() {
        return Err(GenerationError::EmptyPrompt.into());
    }
    let vocab_size = model.vocab_size();
    match prompt.iter().find(|&&id| id as usize >= vocab_size) {
        Some(&id) => Err(GenerationError::UnknownToken { id, vocab_size }.into()),
        None => Ok(()),
    }
}

/// `ids` as a batch of one sequence.
fn token_tensor(ids: &[u32], device: &Device) -> Tensor<2, Int> {
    let ids: Vec<i64> = ids.iter().map(|&id| i64::from(id)).collect();
    Tensor::from_data(TensorData::new(ids.clone(), [1, ids.len()]), device)
}

/// The logits `[1, t, vocab]` of one sequence as `t` rows on the host.
fn logit_rows(logits: Tensor<3>) -> Vec<Vec<f32>> {
    let vocab = logits.dims()[2];
    let flat = logits.into_data().try_to_vec::<f32>().expect("logits are f32");
    flat.chunks(vocab).map(<[f32]>::to_vec).collect()
}
