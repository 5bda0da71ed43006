//! Worked answers to chapter 6's exercises. Each one is tested in `tests/`.
//!
//! 1. [`sentence_pairs`], [`NspHead`], [`nsp_loss`]: next-sentence prediction, BERT's second pretraining task.
//!    Pairs `[CLS] A [SEP] B [SEP]` with segment ids 0 then 1; B follows A half of the time and is a random run
//!    otherwise; a two-way classifier on the pooler's tanh(h_{[CLS]} W_p + b_p). Train on
//!    ℒ_MLM + ℒ_NSP. What to expect (not measured here): a random run usually comes from
//!    another scene, another speaker, other words, so most of the task is topic detection, which the masked-LM
//!    learns anyway; RoBERTa (its table 2) found that removing NSP matched or improved every downstream task once
//!    the segments were full-length spans.
//! 2. [`whole_word_choice`]: whole-word masking. Every BPE token of a chosen word is chosen: the model can no
//!    longer restore "Citi|zen" from "Citi|[MASK]", which the rest of the word all but gives away, so the task
//!    is harder and the per-token masked accuracy should be lower (not measured here), while what is learned is
//!    more about words in context than about spelling.
//! 3. [`span_choice`]: SpanBERT's span masking, contiguous spans of geometric length (clipped), harder again:
//!    the neighbours of a masked token are usually masked too.
//!
//! Compare each with single-token masking by training the `tiny` preset with the choice swapped in (the
//! functions return the chosen positions; [`bert::masking::corrupt`] applies 80/10/10 to them) and reading
//! the masked accuracy on the same validation masks.

use bert::Bert;
use bert::masking::SpecialTokens;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use common::rng::SplitMix64;
use tokens::BpeTokenizer;

// ANCHOR: nsp
/// One next-sentence example: tokens `[CLS] A [SEP] B [SEP]`, segment ids (0 up to the first `[SEP]`, then 1)
/// and whether B is the run that follows A.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentencePair {
    pub tokens: Vec<u32>,
    pub segments: Vec<u32>,
    pub is_next: bool,
}

/// Exercise 1. A pair for each run but the last: A = `runs[i]`, B = `runs[i + 1]` with probability 1/2, otherwise
/// a random run other than that one. Runs are token ids without special tokens; each pair is cut to `max_len`
/// by shortening the longer segment first.
pub fn sentence_pairs(
    runs: &[Vec<u32>],
    special: &SpecialTokens,
    max_len: usize,
    rng: &mut SplitMix64,
) -> Vec<SentencePair> {
    assert!(
        runs.len() > 2 && max_len >= 5,
        "pairs need three runs and room for two tokens"
    );
    (0..runs.len() - 1)
        .map(|i| {
            let is_next = rng.next_f64() < 0.5;
            let b = if is_next {
                i + 1
            } else {
                let mut j = rng.below(runs.len() - 1);
                if j > i {
                    j += 1; // any run but the next one
                }
                j
            };
            let (mut a, mut b) = (runs[i].clone(), runs[b].clone());
            while a.len() + b.len() + 3 > max_len {
                if a.len() >= b.len() {
                    a.pop()
                } else {
                    b.pop()
                };
            }
            let mut tokens = vec![special.cls];
            tokens.extend(&a);
            tokens.push(special.sep);
            let mut segments = vec![0; tokens.len()];
            tokens.extend(&b);
            tokens.push(special.sep);
            segments.resize(tokens.len(), 1);
            SentencePair {
                tokens,
                segments,
                is_next,
            }
        })
        .collect()
}

/// The next-sentence classifier: two logits (not next, next) from the pooled `[CLS]` vector.
#[derive(Module, Debug)]
pub struct NspHead {
    pub classifier: Linear,
}

impl NspHead {
    pub fn new(d_model: usize, device: &Device) -> Self {
        Self {
            classifier: LinearConfig::new(d_model, 2).init(device),
        }
    }
}

/// ℒ_NSP: the mean cross-entropy of the head's two-way prediction over `pairs` (padded with `pad`),
/// and how many it gets right. `bert` must have a pooler.
pub fn nsp_loss(bert: &Bert, head: &NspHead, pairs: &[SentencePair], pad: u32, device: &Device) -> (Tensor<1>, usize) {
    let t = pairs.iter().map(|p| p.tokens.len()).max().expect("a batch of pairs");
    let padded = |f: fn(&SentencePair) -> &Vec<u32>, fill: u32| -> Tensor<2, Int> {
        let flat: Vec<i64> = pairs
            .iter()
            .flat_map(|p| {
                f(p).iter()
                    .copied()
                    .chain(std::iter::repeat_n(fill, t - f(p).len()))
                    .map(i64::from)
            })
            .collect();
        Tensor::<1, Int>::from_ints(flat.as_slice(), device).reshape([pairs.len(), t])
    };
    let tokens = padded(|p| &p.tokens, pad);
    let padding = bert::model::padding_mask(&tokens, pad as usize);
    let hidden = bert.forward(tokens, Some(padded(|p| &p.segments, 0)), Some(padding));
    let logits = head.classifier.forward(bert.pooled(hidden)); // [n, 2]
    let labels: Vec<i64> = pairs.iter().map(|p| i64::from(p.is_next)).collect();
    let labels = Tensor::<1, Int>::from_ints(labels.as_slice(), device).reshape([pairs.len(), 1]);
    let predicted = logits
        .clone()
        .argmax(1)
        .equal(labels.clone())
        .int()
        .sum()
        .into_scalar::<i64>() as usize;
    (log_softmax(logits, 1).gather(1, labels).mean().neg(), predicted)
}
// ANCHOR_END: nsp

// ANCHOR: whole_word
/// Whether a word of `tokens` starts at `i`: a token continues the word before it when both the end of the one
/// before and its own start are letters or digits ("Citi|zen"); anything else (a leading space, as GPT-2-style
/// pre-tokens carry, punctuation, a special token) starts a word.
fn starts_word(tokens: &[u32], bpe: &BpeTokenizer, special: &SpecialTokens, i: usize) -> bool {
    let bytes = |id: u32| {
        if special.contains(id) {
            &b" "[..]
        } else {
            bpe.token_bytes(id).unwrap_or(b" ")
        }
    };
    i == 0
        || !bytes(tokens[i])[0].is_ascii_alphanumeric()
        || !bytes(tokens[i - 1]).last().is_some_and(u8::is_ascii_alphanumeric)
}

/// Exercise 2. Chooses each word (see [`starts_word`]) with probability `p`, and with it every token of the word;
/// special tokens are never chosen.
pub fn whole_word_choice(
    tokens: &[u32],
    bpe: &BpeTokenizer,
    special: &SpecialTokens,
    p: f64,
    rng: &mut SplitMix64,
) -> Vec<bool> {
    let mut chosen = vec![false; tokens.len()];
    let mut this_word = false;
    for i in 0..tokens.len() {
        if starts_word(tokens, bpe, special, i) {
            this_word = rng.next_f64() < p;
        }
        chosen[i] = this_word && !special.contains(tokens[i]);
    }
    chosen
}

/// The words of `tokens` as `start..end` ranges, for tests and figures.
pub fn words(tokens: &[u32], bpe: &BpeTokenizer, special: &SpecialTokens) -> Vec<std::ops::Range<usize>> {
    let starts: Vec<usize> = (0..tokens.len())
        .filter(|&i| starts_word(tokens, bpe, special, i))
        .collect();
    starts
        .iter()
        .enumerate()
        .map(|(k, &s)| s..starts.get(k + 1).copied().unwrap_or(tokens.len()))
        .collect()
}
// ANCHOR_END: whole_word

// ANCHOR: span
/// Exercise 3. SpanBERT's choice: spans of length ℓ ~ Geometric(q) clipped at `max_span`, each
/// starting at a random non-special position and running over non-special tokens only, until at least a share
/// `budget` of the non-special tokens is chosen. q = 1/3 gives a mean length of 3 before clipping.
pub fn span_choice(
    tokens: &[u32],
    special: &SpecialTokens,
    budget: f64,
    q: f64,
    max_span: usize,
    rng: &mut SplitMix64,
) -> Vec<bool> {
    let candidates: Vec<usize> = (0..tokens.len()).filter(|&i| !special.contains(tokens[i])).collect();
    let target = (budget * candidates.len() as f64).round() as usize;
    let mut chosen = vec![false; tokens.len()];
    let mut count = 0;
    while count < target {
        let mut length = 1;
        while length < max_span && rng.next_f64() >= q {
            length += 1;
        }
        let start = candidates[rng.below(candidates.len())];
        for i in (start..tokens.len()).take(length) {
            if special.contains(tokens[i]) {
                break;
            }
            if !chosen[i] {
                chosen[i] = true;
                count += 1;
            }
        }
    }
    chosen
}
// ANCHOR_END: span
