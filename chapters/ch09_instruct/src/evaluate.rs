//! Scoring responses: exactly, where a program knows the answer (the synthetic families), and by ROUGE-L against a
//! reference answer where it does not (Raschka's test split), whose responses are also written out for a judge.

use std::collections::BTreeMap;

use common::metrics::rouge::rouge_stemmed;
use gpt::generation::Decoder;
use serde::{Deserialize, Serialize};

use crate::InstructError;
use crate::data::Example;
use crate::respond::respond;
use crate::synthetic::{Family, SyntheticExample, is_correct};
use crate::tokenize::InstructionTokenizer;

/// The most tokens a synthetic answer is given: the longest (three sorted words) takes 13 in the BPE of chapter 9's
/// pretrained GPT.
pub const SYNTHETIC_MAX_TOKENS: usize = 40;

/// Correct answers out of all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accuracy {
    pub correct: usize,
    pub total: usize,
}

impl Accuracy {
    pub fn rate(&self) -> f64 {
        self.correct as f64 / self.total.max(1) as f64
    }

    pub fn add(&mut self, other: Accuracy) {
        self.correct += other.correct;
        self.total += other.total;
    }
}

/// Exact-match accuracy per family of `model`'s greedy answers to `examples`.
pub fn synthetic_accuracy(
    model: &impl Decoder,
    tokenizer: &InstructionTokenizer,
    examples: &[SyntheticExample],
) -> Result<BTreeMap<Family, Accuracy>, InstructError> {
    let mut accuracy: BTreeMap<Family, Accuracy> = BTreeMap::new();
    for example in examples {
        let answer = respond(model, tokenizer, &example.example, SYNTHETIC_MAX_TOKENS, |_| {})?;
        let correct = usize::from(is_correct(example, &answer));
        accuracy
            .entry(example.family)
            .or_default()
            .add(Accuracy { correct, total: 1 });
    }
    Ok(accuracy)
}

// ANCHOR: records
/// An example with the model's response, as Raschka's chapter 7 writes them for a judge
/// (`instruction-data-with-response.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseRecord {
    pub instruction: String,
    pub input: String,
    /// The reference answer.
    pub output: String,
    pub model_response: String,
}

/// The mean ROUGE-L F₁ of the responses against their references (with the Porter stemmer, as `rouge-score`'s
/// `use_stemmer=True`), and the share that equal their reference exactly (white space around them aside).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TextScores {
    pub rouge_l_f1: f64,
    pub exact_match: f64,
    pub examples: usize,
}

pub fn score_responses(records: &[ResponseRecord]) -> TextScores {
    let n = records.len().max(1) as f64;
    let rouge_l: f64 = records
        .iter()
        .map(|r| rouge_stemmed(&r.output, &r.model_response).rouge_l.f1)
        .sum();
    let exact = records
        .iter()
        .filter(|r| r.output.trim() == r.model_response.trim())
        .count();
    TextScores {
        rouge_l_f1: rouge_l / n,
        exact_match: exact as f64 / n,
        examples: records.len(),
    }
}
// ANCHOR_END: records

/// `model`'s response to every example, up to `max_new_tokens` each, and how many examples were left out because
/// their prompt fills the context; `progress` is called after each example.
pub fn responses(
    model: &impl Decoder,
    tokenizer: &InstructionTokenizer,
    examples: &[Example],
    max_new_tokens: usize,
    mut progress: impl FnMut(usize),
) -> Result<(Vec<ResponseRecord>, usize), InstructError> {
    let (mut records, mut too_long) = (Vec::new(), 0);
    for (i, example) in examples.iter().enumerate() {
        match respond(model, tokenizer, example, max_new_tokens, |_| {}) {
            Ok(model_response) => records.push(ResponseRecord {
                instruction: example.instruction.clone(),
                input: example.input.clone(),
                output: example.output.clone(),
                model_response,
            }),
            Err(InstructError::PromptTooLong { .. }) => too_long += 1,
            Err(error) => return Err(error),
        }
        progress(i + 1);
    }
    Ok((records, too_long))
}
