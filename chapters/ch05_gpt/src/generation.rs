//! Text generation: one token at a time, each drawn from the model's distribution over the next token, reshaped
//! by a temperature and cut down by top-k and top-p (nucleus) filtering.

use burn::prelude::*;
use common::rng::SplitMix64;

use crate::model::{Gpt, KvCache};

// ANCHOR: sampling
/// How the next token is chosen from the logits.
#[derive(Config, Debug, PartialEq)]
pub struct SamplingConfig {
    /// Divides the logits: below 1 sharpens the distribution, above 1 flattens it; 0 means greedy (always the
    /// most likely token).
    #[config(default = 1.0)]
    pub temperature: f32,
    /// Keep only the `k` most likely tokens.
    pub top_k: Option<usize>,
    /// Keep only the smallest set of most likely tokens whose probabilities add up to at least `p`.
    pub top_p: Option<f32>,
    #[config(default = 0)]
    pub seed: u64,
    /// Reuse the keys and values of earlier positions (same tokens, less work).
    #[config(default = true)]
    pub use_cache: bool,
}

/// The distribution the next token is drawn from: p_i ∝ exp(z_i / τ) over the tokens top-k and top-p
/// keep, 0 elsewhere. With temperature 0, all the mass on the most likely token.
pub fn next_token_probabilities(logits: &[f32], config: &SamplingConfig) -> Vec<f32> {
    let keep = if config.temperature <= 0.0 {
        1 // greedy: the most likely token alone
    } else {
        config.top_k.unwrap_or(logits.len()).clamp(1, logits.len())
    };
    // Most likely first, ties by the lower id. Only the `keep` first are needed in order: select them (linear
    // time), then sort those alone, instead of sorting the whole vocabulary (50,257 tokens for GPT-2).
    let most_likely_first = |&a: &usize, &b: &usize| logits[b].total_cmp(&logits[a]).then(a.cmp(&b));
    let mut order: Vec<usize> = (0..logits.len()).collect();
    if keep < order.len() {
        order.select_nth_unstable_by(keep - 1, most_likely_first);
        order.truncate(keep);
    }
    order.sort_by(most_likely_first);
    let mut probabilities = vec![0.0; logits.len()];
    if config.temperature <= 0.0 {
        probabilities[order[0]] = 1.0;
        return probabilities;
    }
    let max = logits[order[0]];
    let weights: Vec<f32> = order[..keep]
        .iter()
        .map(|&i| ((logits[i] - max) / config.temperature).exp())
        .collect();
    let total: f32 = weights.iter().sum();
    let mut kept_mass = 0.0;
    for (&i, w) in order.iter().zip(&weights) {
        let p = w / total;
        if config.top_p.is_some_and(|top_p| kept_mass >= top_p) {
            break;
        }
        probabilities[i] = p;
        kept_mass += p;
    }
    probabilities.iter_mut().for_each(|p| *p /= kept_mass);
    probabilities
}

/// Draws an index with probability `probabilities[i]` (which sum to 1), by inverting the cumulative sum at a
/// uniform number.
pub fn draw(probabilities: &[f32], rng: &mut SplitMix64) -> usize {
    let u = rng.next_f64() as f32;
    let mut cumulative = 0.0;
    for (i, &p) in probabilities.iter().enumerate() {
        cumulative += p;
        if u < cumulative {
            return i;
        }
    }
    // Rounding can leave the total a hair under u: take the last token with any probability.
    probabilities.iter().rposition(|&p| p > 0.0).unwrap_or(0)
}
// ANCHOR_END: sampling

/// Why a generation could not start.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GenerationError {
    #[error("the prompt is empty: give at least one token, e.g. --prompt \"\\n\" for a fresh start")]
    EmptyPrompt,
    #[error("token id {id} of the prompt is outside the model's vocabulary of {vocab_size}")]
    UnknownToken { id: u32, vocab_size: usize },
    #[error("temperature must be 0 (greedy) or a finite positive number, got {0}")]
    BadTemperature(f32),
    #[error("top-p must lie in (0, 1], got {0}")]
    BadTopP(f32),
    #[error("top-k must be at least 1, or off (None; on the command line, --top-k 0)")]
    BadTopK,
}

/// The forward passes the sampler runs: [`Gpt`]'s own, or another computation of the same model that gives the
/// same numbers (the book's appendix runs them on CPU kernels written for the job).
pub trait Decoder {
    /// The model whose weights and sizes the passes use.
    fn gpt(&self) -> &Gpt;
    /// [`Gpt::hidden_states`] of a window of tokens.
    fn hidden_states(&self, tokens: Tensor<2, Int>) -> Tensor<3>;
    /// [`Gpt::hidden_states_cached`]: the hidden states of new tokens that continue the cached ones.
    fn hidden_states_cached(&self, tokens: Tensor<2, Int>, cache: &mut KvCache) -> Tensor<3>;
    /// [`Gpt::lm_head`]: the logits of hidden states.
    fn lm_head(&self, h: Tensor<3>) -> Tensor<3>;
}

impl Decoder for Gpt {
    fn gpt(&self) -> &Gpt {
        self
    }

    fn hidden_states(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        Gpt::hidden_states(self, tokens)
    }

    fn hidden_states_cached(&self, tokens: Tensor<2, Int>, cache: &mut KvCache) -> Tensor<3> {
        Gpt::hidden_states_cached(self, tokens, cache)
    }

    fn lm_head(&self, h: Tensor<3>) -> Tensor<3> {
        Gpt::lm_head(self, h)
    }
}

/// What [`generate`] made.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// The new tokens only.
    pub tokens: Vec<u32>,
    /// How many tokens were cut from the front of a prompt longer than the context (0 if it fit).
    pub prompt_tokens_dropped: usize,
}

// ANCHOR: generate
/// Continues `prompt` by up to `max_new_tokens` tokens, stopping early once `stop(new_tokens)` says so. The model
/// sees at most its last `block_size` tokens (a longer prompt is cropped from the left, as nanoGPT does, and
/// [`Generation::prompt_tokens_dropped`] says by how much).
///
/// With the cache, each step feeds only the newest token while the sequence fits the context; once it is full
/// the window slides, every position changes, and learned absolute positions force a recomputation of the
/// window (models with relative positions, such as RoPE, can keep their cache).
pub fn generate(
    model: &impl Decoder,
    prompt: &[u32],
    max_new_tokens: usize,
    config: &SamplingConfig,
    mut stop: impl FnMut(&[u32]) -> bool,
) -> Result<Generation, GenerationError> {
    validate(model.gpt(), prompt, config)?;
    let device = model.gpt().embedding.token.weight.device();
    let block_size = model.gpt().block_size();
    let prompt_tokens_dropped = prompt.len().saturating_sub(block_size);
    let mut sequence = prompt[prompt_tokens_dropped..].to_vec();
    let (mut rng, mut cache, mut new_tokens) = (SplitMix64::new(config.seed), KvCache::new(), Vec::new());
    while new_tokens.len() < max_new_tokens && !stop(&new_tokens) {
        let window = &sequence[sequence.len().saturating_sub(block_size)..];
        let h = if !config.use_cache {
            model.hidden_states(token_tensor(window, &device))
        } else if cache.len() + 1 == window.len() {
            model.hidden_states_cached(token_tensor(&window[window.len() - 1..], &device), &mut cache)
        } else {
            cache = KvCache::new(); // first step, or the window slid: start again from it
            model.hidden_states_cached(token_tensor(window, &device), &mut cache)
        };
        // Only the last position's scores are drawn from: the head on it alone (nanoGPT's `x[:, [-1], :]`),
        // saving the head at every other position: about 30% of a forward pass at GPT-2's sizes.
        let [batch, t, d] = h.dims();
        let logits = model.lm_head(h.slice([0..batch, t - 1..t, 0..d]));
        let next = draw(&next_token_probabilities(&host_values(logits), config), &mut rng) as u32;
        sequence.push(next);
        new_tokens.push(next);
    }
    Ok(Generation {
        tokens: new_tokens,
        prompt_tokens_dropped,
    })
}
// ANCHOR_END: generate

fn validate(model: &Gpt, prompt: &[u32], config: &SamplingConfig) -> Result<(), GenerationError> {
    let vocab_size = model.vocab_size();
    if prompt.is_empty() {
        return Err(GenerationError::EmptyPrompt);
    }
    if let Some(&id) = prompt.iter().find(|&&id| id as usize >= vocab_size) {
        return Err(GenerationError::UnknownToken { id, vocab_size });
    }
    if !(config.temperature >= 0.0 && config.temperature.is_finite()) {
        return Err(GenerationError::BadTemperature(config.temperature));
    }
    if let Some(p) = config.top_p.filter(|p| !(*p > 0.0 && *p <= 1.0)) {
        return Err(GenerationError::BadTopP(p));
    }
    if config.top_k == Some(0) {
        return Err(GenerationError::BadTopK);
    }
    Ok(())
}

fn token_tensor(ids: &[u32], device: &Device) -> Tensor<2, Int> {
    let len = ids.len();
    let ids: Vec<i64> = ids.iter().map(|&id| id as i64).collect();
    Tensor::from_data(TensorData::new(ids, [1, len]), device)
}

/// The logits `[1, 1, vocab]` of the one position drawn from, as numbers on the host.
fn host_values(logits: Tensor<3>) -> Vec<f32> {
    logits.into_data().try_to_vec::<f32>().expect("logits are f32")
}
