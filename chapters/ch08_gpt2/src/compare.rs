//! The chapter's worked example: language models trained on the same text, compared on the part of it none of them
//! saw, by this chapter's two measures.
//!
//! Perplexity per token cannot compare models with different tokenizers: a character model predicts one
//! character per token, a BPE model about three, so its per-token perplexity is higher for the same quality.
//! Dividing the held-out text's total negative log-likelihood by its characters instead gives a measure every
//! tokenizer shares, bits per character: bpc = 1/(C ln 2) Σ_t -ln p(x_t | x_{<t}).
//! ROUGE then scores what the models write: each continues held-out lines from their first words, greedily, and
//! the continuation is set against the line's true rest.

use gpt::{Gpt, SamplingConfig, TokenSplits, Tokenizer, generate};

use crate::{Gpt2Error, sliding_window_perplexity};
use common::metrics::rouge::rouge;

/// One model's scores on the held-out text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeldOutScores {
    /// Tokens of the held-out text scored (all but the first).
    pub tokens_scored: usize,
    /// Perplexity per token, exp of the mean negative log-likelihood.
    pub perplexity: f64,
    /// Bits per character: the same likelihood, per character of text.
    pub bits_per_char: f64,
    /// Mean ROUGE-1, ROUGE-2 and ROUGE-L F_1 of the continuations.
    pub rouge1: f64,
    pub rouge2: f64,
    pub rouge_l: f64,
    /// How many lines were continued.
    pub lines: usize,
}

/// Where the validation split of a chapter 5 run with `tokenizer` begins in `text`, in bytes: chapter 5 trains on
/// the first 90% of the *tokens*, and a BPE learned on the training text packs it tighter than the rest, so its
/// training part reaches further into the text than 90% of the characters. Models with different tokenizers are
/// compared on the text after the latest of their starts, which none of them trained on.
pub fn validation_start(text: &str, tokenizer: &Tokenizer) -> Result<usize, Gpt2Error> {
    let splits = TokenSplits::encode(text, tokenizer)?;
    Ok(tokenizer.decode(&splits.train)?.len())
}

/// The lines to continue: up to `count` lines of `text` with at least six words, spread evenly over it, each as
/// (the text before it and its first three words, the rest of the line).
pub fn continuation_tasks(text: &str, count: usize) -> Vec<(String, String)> {
    let mut candidates = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        if line.split_whitespace().count() >= 6 && start > 0 {
            let prompt_end = start + end_of_third_word(line);
            let line_end = start + line.trim_end().len();
            candidates.push((text[..prompt_end].to_string(), text[prompt_end..line_end].to_string()));
        }
        start += line.len();
    }
    let step = (candidates.len() / count.max(1)).max(1);
    candidates.into_iter().step_by(step).take(count).collect()
}

/// Where the third word of `line` ends (the white space after it).
fn end_of_third_word(line: &str) -> usize {
    let mut words_ended = 0;
    let mut in_word = false;
    for (i, c) in line.char_indices() {
        if c.is_whitespace() && in_word {
            words_ended += 1;
            if words_ended == 3 {
                return i;
            }
        }
        in_word = !c.is_whitespace();
    }
    line.len()
}

// ANCHOR: evaluate
/// `model` (with its chapter 5 `tokenizer`) on `held_out`: bits per character by a sliding window (stride half the
/// context), and ROUGE of greedy continuations of `lines` held-out lines.
pub fn evaluate_held_out(
    model: &Gpt,
    tokenizer: &Tokenizer,
    held_out: &str,
    lines: usize,
) -> Result<HeldOutScores, Gpt2Error> {
    let ids = tokenizer.encode(held_out)?;
    let window = sliding_window_perplexity(model, &ids, (model.block_size() / 2).max(1))?;
    // Every character but those of the first token, which has no context and is not scored.
    let chars = held_out.chars().count() - tokenizer.decode(&ids[..1])?.chars().count();
    let bits_per_char = window.mean_nll * window.tokens_scored as f64 / (chars as f64 * std::f64::consts::LN_2);

    let tasks = continuation_tasks(held_out, lines);
    let greedy = SamplingConfig::new().with_temperature(0.0);
    let (mut rouge1, mut rouge2, mut rouge_l) = (0.0, 0.0, 0.0);
    for (prompt, rest) in &tasks {
        let prompt_ids = tokenizer.encode(prompt)?;
        let written = generate(model, &prompt_ids, rest.chars().count() + 10, &greedy, |new| {
            tokenizer.decode(new).is_ok_and(|text| text.contains('\n'))
        })?;
        let text = tokenizer.decode(&written.tokens)?;
        let continuation = text.split('\n').next().unwrap_or_default();
        let score = rouge(rest, continuation);
        (rouge1, rouge2, rouge_l) = (
            rouge1 + score.rouge1.f1,
            rouge2 + score.rouge2.f1,
            rouge_l + score.rouge_l.f1,
        );
    }
    let n = tasks.len().max(1) as f64;
    Ok(HeldOutScores {
        tokens_scored: window.tokens_scored,
        perplexity: window.perplexity,
        bits_per_char,
        rouge1: rouge1 / n,
        rouge2: rouge2 / n,
        rouge_l: rouge_l / n,
        lines: tasks.len(),
    })
}
// ANCHOR_END: evaluate
