//! Perplexity of a text longer than the context, by a sliding window (as Hugging Face's perplexity guide
//! computes it).
//!
//! Perplexity is exp of the mean next-token cross-entropy, PPL = exp(-1/N Σ_t log p(x_t | x_{<t})), the same loss
//! chapter 5 trains on. A model reads at most T tokens, so a long text is scored in windows of T starting every
//! `stride` tokens; each window scores only the tokens the previous one did not reach, each with up to T - 1 tokens
//! before it as context. `stride = T` tiles the text: fast, but the first token of every window goes unscored
//! (nothing before it in the window) and the next ones see little context; a smaller stride scores every token but
//! the text's first, each with at least T - stride tokens of context, for a lower and fairer perplexity at
//! T / stride times the work.

use burn::prelude::*;
use gpt::Gpt;
use gpt::training::cross_entropy;

use crate::Gpt2Error;

/// What [`sliding_window_perplexity`] measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Perplexity {
    /// The mean of -log p(x_t | context) over the scored tokens, in nats.
    pub mean_nll: f64,
    /// How many tokens were scored: every one but the text's first when `stride` is below the context; with
    /// `stride` equal to it, not the first of any window either.
    pub tokens_scored: usize,
    /// exp of `mean_nll`.
    pub perplexity: f64,
}

// ANCHOR: sliding_window
/// The perplexity of `ids` under `model`, in windows of the model's context starting every `stride` tokens.
pub fn sliding_window_perplexity(model: &Gpt, ids: &[u32], stride: usize) -> Result<Perplexity, Gpt2Error> {
    let window = model.block_size();
    if ids.len() < 2 {
        return Err(Gpt2Error::TooFewTokens { tokens: ids.len() });
    }
    if stride == 0 || stride > window {
        return Err(Gpt2Error::BadStride {
            stride,
            context: window,
        });
    }
    let device = model.embedding.token.weight.device();
    let (mut nll_sum, mut scored, mut scored_up_to) = (0.0, 0, 0);
    for begin in (0..ids.len()).step_by(stride) {
        let end = (begin + window).min(ids.len());
        let tokens: Vec<i64> = ids[begin..end].iter().map(|&id| i64::from(id)).collect();
        let len = tokens.len();
        // Positions `first..len` of this window are new; position j is predicted by the logits at j - 1.
        let first = (scored_up_to - begin).max(1);
        let logits = model.forward(Tensor::from_data(TensorData::new(tokens.clone(), [1, len]), &device));
        let vocab = logits.dims()[2];
        let targets = Tensor::<2, Int>::from_data(TensorData::new(tokens[first..].to_vec(), [1, len - first]), &device);
        let mean = cross_entropy(logits.slice([0..1, first - 1..len - 1, 0..vocab]), targets);
        let mean: f32 = mean.into_scalar();
        nll_sum += f64::from(mean) * (len - first) as f64;
        scored += len - first;
        scored_up_to = end;
        if end == ids.len() {
            break;
        }
    }
    let mean_nll = nll_sum / scored as f64;
    Ok(Perplexity {
        mean_nll,
        tokens_scored: scored,
        perplexity: mean_nll.exp(),
    })
}
// ANCHOR_END: sliding_window
