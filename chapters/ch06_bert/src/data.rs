//! The pretraining text: Tiny Shakespeare's lines, split 90/10 as chapter 1 splits, each split cut into sequences
//! `[CLS] lines [SEP]` of consecutive lines that fit the context.

use crate::vocab::BertVocab;

// ANCHOR: sequences
/// Consecutive lines of `text`, BPE-encoded and joined while they fit, as `[CLS] ... [SEP]` sequences of at most
/// `max_len` tokens: the unit BERT reads (a "sentence" in the paper is any span of text). A line longer than the
/// context is cut.
pub fn sequences(text: &str, vocab: &BertVocab, max_len: usize) -> Vec<Vec<u32>> {
    assert!(max_len > 2, "a sequence holds [CLS], [SEP] and at least one token");
    let special = vocab.special();
    let room = max_len - 2;
    let mut out = Vec::new();
    let mut current: Vec<u32> = Vec::new();
    for line in text.split_inclusive('\n') {
        let mut ids = vocab.bpe.encode(line);
        ids.truncate(room);
        if !current.is_empty() && current.len() + ids.len() > room {
            out.push(wrap(&current, special.cls, special.sep));
            current.clear();
        }
        current.extend(ids);
    }
    if !current.is_empty() {
        out.push(wrap(&current, special.cls, special.sep));
    }
    out
}

fn wrap(ids: &[u32], cls: u32, sep: u32) -> Vec<u32> {
    let mut sequence = Vec::with_capacity(ids.len() + 2);
    sequence.push(cls);
    sequence.extend_from_slice(ids);
    sequence.push(sep);
    sequence
}
// ANCHOR_END: sequences

/// The training and validation sequences.
#[derive(Debug, Clone)]
pub struct Splits {
    pub train: Vec<Vec<u32>>,
    pub val: Vec<Vec<u32>>,
}

/// The text's first 90% of lines and the rest (chapter 1's contiguous split, by lines so that no line is cut),
/// each as [`sequences`].
pub fn split_sequences(text: &str, vocab: &BertVocab, max_len: usize) -> Splits {
    let (train, val) = split_text(text);
    Splits {
        train: sequences(train, vocab, max_len),
        val: sequences(val, vocab, max_len),
    }
}

/// The first 90% of `text`'s lines and the rest.
pub fn split_text(text: &str) -> (&str, &str) {
    let line_starts: Vec<usize> = text
        .split_inclusive('\n')
        .scan(0, |at, line| {
            let start = *at;
            *at += line.len();
            Some(start)
        })
        .collect();
    let (train_lines, _) = tokens::data::split_train_val(&line_starts, 0.9);
    let cut = line_starts.get(train_lines.len()).copied().unwrap_or(text.len());
    text.split_at(cut)
}
