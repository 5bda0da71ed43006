//! Exercise 3: speculative decoding (Leviathan, Kalman and Matias, 2023; Chen et al., 2023). A small draft model
//! q proposes k tokens one by one; the large target model p scores all of them in one forward pass (the KV
//! cache makes that pass cost about as much as one token's when memory-bound). Each drafted token x is kept with
//! probability min(1, p(x)/q(x)); the first one rejected is replaced by a draw from the residual
//! norm(max(0, p - q)), and when all k are kept the target's last distribution gives one more. Every
//! token is then distributed exactly as the target alone would draw it: a faster way to the same samples.

use crate::{DecodeError, check_prompt};
use common::rng::SplitMix64;
use gpt::generation::{draw, next_token_probabilities};
use gpt::{Gpt, KvCache, SamplingConfig};

use crate::{logit_rows, token_tensor};

/// What [`speculative_decode`] made, and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Speculation {
    /// The new tokens.
    pub tokens: Vec<u32>,
    /// Forward passes of the target model (one per round of drafting).
    pub target_passes: usize,
    pub drafted: usize,
    /// Drafted tokens the target kept.
    pub accepted: usize,
}

// ANCHOR: accept
/// The verification rule for a token `drafted` from q: kept with probability min(1, p(x)/q(x)), otherwise
/// replaced by a draw from norm(max(0, p - q)). Returns the token and whether the draft was kept.
///
/// Why the output follows p: P(y) = q(y)·min(1, p(y)/q(y)) + β·r(y) where β = Σ_x max(0, q(x) - p(x)) is the
/// probability of a rejection and r(y) = max(0, p(y) - q(y)) / β; the first term is min(q(y), p(y)), the second
/// max(0, p(y) - q(y)), and they add up to p(y).
pub fn accept_or_resample(drafted: usize, p: &[f32], q: &[f32], rng: &mut SplitMix64) -> (usize, bool) {
    let keep = (p[drafted] / q[drafted]).min(1.0);
    if (rng.next_f64() as f32) < keep {
        return (drafted, true);
    }
    let residual: Vec<f32> = p.iter().zip(q).map(|(p, q)| (p - q).max(0.0)).collect();
    let total: f32 = residual.iter().sum();
    let residual: Vec<f32> = residual.iter().map(|r| r / total).collect();
    (draw(&residual, rng), false)
}
// ANCHOR_END: accept

// ANCHOR: speculative
/// Continues `prompt` by `new_tokens` tokens from `target`, with `draft` proposing `lookahead` tokens a round.
/// Both models sample with `config` (temperature, top-k, top-p, seed); with temperature 0 the result is the
/// target's greedy continuation.
pub fn speculative_decode(
    target: &Gpt,
    draft: &Gpt,
    prompt: &[u32],
    new_tokens: usize,
    lookahead: usize,
    config: &SamplingConfig,
) -> Result<Speculation, DecodeError> {
    check(target, draft, prompt, new_tokens, lookahead)?;
    let device = target.embedding.token.weight.device();
    let mut rng = SplitMix64::new(config.seed);
    let (mut target_cache, mut draft_cache) = (KvCache::new(), KvCache::new());
    let mut sequence = prompt.to_vec();
    let mut result = Speculation {
        tokens: Vec::new(),
        target_passes: 0,
        drafted: 0,
        accepted: 0,
    };
    while sequence.len() < prompt.len() + new_tokens {
        // 1. The draft proposes, one token at a time, feeding what its cache has not seen yet.
        let (mut drafted, mut q) = (Vec::new(), Vec::new());
        for _ in 0..lookahead {
            let context = [sequence.as_slice(), &drafted].concat();
            let logits = draft.forward_cached(token_tensor(&context[draft_cache.len()..], &device), &mut draft_cache);
            let probabilities = next_token_probabilities(logit_rows(logits).last().expect("one row"), config);
            drafted.push(draw(&probabilities, &mut rng) as u32);
            q.push(probabilities);
        }
        // 2. The target scores every draft in one pass: its distributions after the sequence and after each draft.
        let context = [sequence.as_slice(), &drafted].concat();
        let seen = target_cache.len();
        let rows = logit_rows(target.forward_cached(token_tensor(&context[seen..], &device), &mut target_cache));
        let p: Vec<Vec<f32>> = rows[sequence.len() - 1 - seen..]
            .iter()
            .map(|row| next_token_probabilities(row, config))
            .collect();
        // 3. Keep drafts until one is rejected; its replacement, or a bonus token if none was, comes from p.
        let mut accepted = 0;
        let mut next = None;
        for (i, &token) in drafted.iter().enumerate() {
            match accept_or_resample(token as usize, &p[i], &q[i], &mut rng) {
                (_, true) => accepted += 1,
                (replacement, false) => {
                    next = Some(replacement);
                    break;
                }
            }
        }
        let next = next.unwrap_or_else(|| draw(&p[lookahead], &mut rng)) as u32;
        sequence.extend(&drafted[..accepted]);
        sequence.push(next);
        // 4. Both caches forget the rejected drafts: they hold the sequence but its newest token.
        target_cache.truncate(sequence.len() - 1);
        draft_cache.truncate(sequence.len() - 1);
        result.target_passes += 1;
        result.drafted += lookahead;
        result.accepted += accepted;
    }
    result.tokens = sequence[prompt.len()..prompt.len() + new_tokens].to_vec();
    Ok(result)
}
// ANCHOR_END: speculative

fn check(target: &Gpt, draft: &Gpt, prompt: &[u32], new_tokens: usize, lookahead: usize) -> Result<(), DecodeError> {
    if target.vocab_size() != draft.vocab_size() {
        return Err(DecodeError::VocabularyMismatch {
            draft: draft.vocab_size(),
            target: target.vocab_size(),
        });
    }
    check_prompt(target, prompt)?;
    if lookahead == 0 {
        return Err(DecodeError::ZeroLookahead);
    }
    let (tokens, context) = (
        prompt.len() + new_tokens + lookahead,
        target.block_size().min(draft.block_size()),
    );
    if tokens > context {
        return Err(DecodeError::TooLong {
            tokens,
            which: "the smaller context,",
            context,
        });
    }
    Ok(())
}
