//! Exercise 2: beam search. Greedy decoding keeps one sequence and takes the best next token; beam search keeps
//! the B sequences of highest log-probability Σ_t log p(y_t | y_{<t}) and extends each by every token,
//! keeping again the best B of the B · V candidates. B = 1 is greedy decoding.

use crate::{DecodeError, check_prompt};
use burn::tensor::activation::log_softmax;
use gpt::{Gpt, KvCache};

use crate::{logit_rows, token_tensor};

/// One continuation: its new tokens and their total log-probability given the prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct Beam {
    pub tokens: Vec<u32>,
    pub log_probability: f32,
}

// ANCHOR: beam_search
/// The `width` most probable continuations of `prompt` found by beam search, `new_tokens` long each, best first.
///
/// Each beam keeps its own KV cache: a step feeds every beam only its newest token, and a beam that two
/// candidates extend is cloned (the tensors are shared until one of them grows).
pub fn beam_search(model: &Gpt, prompt: &[u32], width: usize, new_tokens: usize) -> Result<Vec<Beam>, DecodeError> {
    check(model, prompt, width, new_tokens)?;
    let device = model.embedding.token.weight.device();
    let start = Beam {
        tokens: Vec::new(),
        log_probability: 0.0,
    };
    let mut beams = vec![(start, KvCache::new())];
    for step in 0..new_tokens {
        // (which beam, which token, score) for every beam and every next token.
        let mut candidates = Vec::new();
        for (index, (beam, cache)) in beams.iter_mut().enumerate() {
            let input = if step == 0 { prompt } else { &beam.tokens[step - 1..] };
            let logits = model.forward_cached(token_tensor(input, &device), cache);
            let [_, t, vocab] = logits.dims();
            let log_p = logit_rows(log_softmax(logits.slice([0..1, t - 1..t, 0..vocab]), 2)).remove(0);
            let scored = log_p.into_iter().enumerate();
            candidates.extend(scored.map(|(token, lp)| (index, token as u32, beam.log_probability + lp)));
        }
        // Best first; among equal scores the earlier beam, then the lower token id (as PyTorch's top-k).
        candidates.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
        candidates.truncate(width);
        beams = candidates
            .into_iter()
            .map(|(index, token, log_probability)| {
                let (beam, cache) = &beams[index];
                let mut tokens = beam.tokens.clone();
                tokens.push(token);
                (
                    Beam {
                        tokens,
                        log_probability,
                    },
                    cache.clone(),
                )
            })
            .collect();
    }
    Ok(beams.into_iter().map(|(beam, _)| beam).collect())
}
// ANCHOR_END: beam_search

fn check(model: &Gpt, prompt: &[u32], width: usize, new_tokens: usize) -> Result<(), DecodeError> {
    check_prompt(model, prompt)?;
    if width == 0 {
        return Err(DecodeError::ZeroWidth);
    }
    let (tokens, context) = (prompt.len() + new_tokens, model.block_size());
    if tokens > context {
        return Err(DecodeError::TooLong {
            tokens,
            which: "the context of",
            context,
        });
    }
    Ok(())
}
