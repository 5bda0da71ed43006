//! Worked answers to chapter 4's exercises. Each one is tested in `tests/`.
//!
//! 1. [`beam_search`]: keep the `width` most likely partial answers instead of only the best one.
//! 2. [`sequence_log_prob`]: the model's log-probability of a whole answer, the quantity beam search maximises.
//!
//! 3. *Why does post-LN need a warm-up?* Adam's update has about the same size for every parameter, whatever its
//!    gradient. In post-LN the top layers' gradients are about twice the bottom layers' at initialisation (the
//!    chapter's figure) and the gap grows with depth, so the top layers' outputs, and the loss, move much further
//!    per step than the bottom layers can follow, and with a large learning rate the first steps can send the
//!    top layers somewhere training never recovers from. A warm-up keeps the steps small until Adam's statistics
//!    and the layers' scales have settled. In pre-LN every layer only adds to an un-normalised residual stream, the
//!    gradients are the same size at every depth, and the warm-up matters much less.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use transformer::Transformer;
use transformer::data::{BOS, EOS};

/// The source `[1, t_src]` as a tensor, with its (all-true) padding mask.
fn source(src: &[usize], device: &Device) -> Tensor<2, Int> {
    let ids: Vec<i64> = src.iter().map(|&id| id as i64).collect();
    Tensor::<1, Int>::from_ints(ids.as_slice(), device).reshape([1, src.len()])
}

// ANCHOR: sequence_log_prob
/// Exercise 2. log p(y | x) = Σ_i log p(y_i | y_{<i}, x) for the answer `tgt` followed by EOS, in one
/// teacher-forced pass.
pub fn sequence_log_prob(model: &Transformer, src: &[usize], tgt: &[usize], device: &Device) -> f32 {
    let memory = model.encode(source(src, device), None);
    let tgt_in: Vec<i64> = std::iter::once(BOS)
        .chain(tgt.iter().copied())
        .map(|id| id as i64)
        .collect();
    let tgt_out: Vec<i64> = tgt
        .iter()
        .copied()
        .chain(std::iter::once(EOS))
        .map(|id| id as i64)
        .collect();
    let t = tgt_in.len();
    let logits = model.decode(
        Tensor::<1, Int>::from_ints(tgt_in.as_slice(), device).reshape([1, t]),
        memory,
        None,
        None,
    );
    let [_, _, vocab] = logits.dims();
    let log_p = log_softmax(logits.reshape([t, vocab]), 1);
    let targets = Tensor::<1, Int>::from_ints(tgt_out.as_slice(), device).reshape([t, 1]);
    log_p.gather(1, targets).sum().into_scalar::<f32>()
}
// ANCHOR_END: sequence_log_prob

// ANCHOR: beam_search
/// Exercise 1. Beam search: keep the `width` partial answers with the highest total log-probability; at each step
/// extend every one by every token, and keep the best `width` extensions. An extension that ends with EOS is a
/// finished answer. Stops when the best finished answer beats every unfinished one (log-probabilities only fall as
/// an answer grows) or after `max_len` tokens. Returns the best answer (without EOS) and its log-probability.
///
/// Greedy decoding is `width = 1`. A wider beam can recover from a first token that looked best but leads
/// nowhere likely.
pub fn beam_search(
    model: &Transformer,
    src: &[usize],
    width: usize,
    max_len: usize,
    device: &Device,
) -> (Vec<usize>, f32) {
    assert!(width > 0, "a beam needs at least one hypothesis");
    let memory = model.encode(source(src, device), None);
    let mut beams: Vec<(Vec<usize>, f32)> = vec![(Vec::new(), 0.0)];
    let mut best_finished: Option<(Vec<usize>, f32)> = None;
    for step in 0..=max_len {
        // All beams at once: a batch of `beams.len()` partial answers, each starting with BOS.
        let n = beams.len();
        let tgt: Vec<i64> = beams
            .iter()
            .flat_map(|(ids, _)| std::iter::once(BOS).chain(ids.iter().copied()))
            .map(|id| id as i64)
            .collect();
        let tgt = Tensor::<1, Int>::from_ints(tgt.as_slice(), device).reshape([n, step + 1]);
        let [_, t_src, d_model] = memory.dims();
        let logits = model.decode(tgt, memory.clone().expand([n, t_src, d_model]), None, None);
        let [_, _, vocab] = logits.dims();
        let log_p = log_softmax(logits.slice([0..n, step..step + 1]).reshape([n, vocab]), 1);
        let log_p = log_p.to_data().try_to_vec::<f32>().expect("f32 log-probabilities");

        let mut candidates: Vec<(usize, usize, f32)> = (0..n)
            .flat_map(|b| (0..vocab).map(move |token| (b, token)))
            .map(|(b, token)| (b, token, beams[b].1 + log_p[b * vocab + token]))
            .collect();
        candidates.sort_by(|a, b| b.2.total_cmp(&a.2));
        let mut next = Vec::with_capacity(width);
        for (b, token, score) in candidates.into_iter().take(width) {
            if token == EOS || step == max_len {
                if best_finished.as_ref().is_none_or(|(_, best)| score > *best) {
                    best_finished = Some((beams[b].0.clone(), score));
                }
            } else {
                next.push(([beams[b].0.as_slice(), &[token]].concat(), score));
            }
        }
        let best_open = next.iter().map(|(_, s)| *s).fold(f32::NEG_INFINITY, f32::max);
        match &best_finished {
            Some((_, best)) if *best >= best_open => break,
            _ if next.is_empty() => break,
            _ => beams = next,
        }
    }
    best_finished.expect("every search finishes by max_len")
}
// ANCHOR_END: beam_search
