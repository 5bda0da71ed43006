//! Using a BERT: filling in masked tokens, and sentence embeddings with their cosine similarities.

use burn::prelude::*;
use burn::tensor::activation::softmax;
use tokenizers::Tokenizer;

use common::DeviceFailed;

use crate::error::BertError;
use crate::model::{Bert, BertForMaskedLm, mean_pool, padding_mask};

/// One candidate for a masked position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Guess {
    pub token: u32,
    pub probability: f32,
}

// ANCHOR: fill
/// The `k` most likely tokens at each `[MASK]` (id `mask`) of the sequence `ids`, most likely first: BERT reads
/// the whole sequence, on both sides of each mask, at once.
pub fn fill_masks(
    model: &BertForMaskedLm,
    ids: &[u32],
    mask: u32,
    k: usize,
    device: &Device,
) -> Result<Vec<Vec<Guess>>, BertError> {
    let max = model.bert.embeddings.input.max_seq_len;
    if ids.len() > max {
        return Err(BertError::SequenceTooLong { tokens: ids.len(), max });
    }
    let at: Vec<usize> = ids
        .iter()
        .enumerate()
        .filter(|&(_, &id)| id == mask)
        .map(|(i, _)| i)
        .collect();
    if at.is_empty() {
        return Err(BertError::NoMask);
    }
    let tokens = Tensor::<1, Int>::from_ints(ids.iter().map(|&id| id as i64).collect::<Vec<_>>().as_slice(), device)
        .reshape([1, ids.len()]);
    let positions = Tensor::<1, Int>::from_ints(at.iter().map(|&i| i as i64).collect::<Vec<_>>().as_slice(), device);
    let probabilities = softmax(model.forward_at(tokens, None, positions), 1);
    let rows = probabilities
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| DeviceFailed::from_report(&e.to_string()))?;
    let vocab = model.bert.vocab_size();
    Ok(rows
        .chunks(vocab)
        .map(|row| {
            let mut order: Vec<usize> = (0..vocab).collect();
            order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
            order
                .iter()
                .take(k)
                .map(|&i| Guess {
                    token: i as u32,
                    probability: row[i],
                })
                .collect()
        })
        .collect())
}
// ANCHOR_END: fill

/// Token ids of `sentences` (with `[CLS]` and `[SEP]`), padded with `pad` into `[n, t]`, and their padding mask.
pub fn encode_batch(
    tokenizer: &Tokenizer,
    sentences: &[&str],
    pad: usize,
    max_len: usize,
    device: &Device,
) -> Result<(Tensor<2, Int>, Tensor<2, Bool>), BertError> {
    let mut rows = Vec::new();
    for sentence in sentences {
        let encoding = tokenizer.encode(*sentence, true).map_err(|e| BertError::Tokenize {
            text: sentence.to_string(),
            message: e.to_string(),
        })?;
        let ids: Vec<i64> = encoding.get_ids().iter().map(|&id| id as i64).collect();
        if ids.len() > max_len {
            return Err(BertError::SequenceTooLong {
                tokens: ids.len(),
                max: max_len,
            });
        }
        rows.push(ids);
    }
    let t = rows.iter().map(Vec::len).max().unwrap_or(0);
    let flat: Vec<i64> = rows
        .iter()
        .flat_map(|row| {
            row.iter()
                .copied()
                .chain(std::iter::repeat_n(pad as i64, t - row.len()))
        })
        .collect();
    let tokens = Tensor::<1, Int>::from_ints(flat.as_slice(), device).reshape([rows.len(), t]);
    let padding = padding_mask(&tokens, pad);
    Ok((tokens, padding))
}

// ANCHOR: embed
/// Sentence embeddings as sentence-transformers computes them for all-MiniLM-L6-v2: the mean of the last hidden
/// states over each sentence's real tokens, `[n, d]` (its `Normalize` step is left to [`cosine_similarities`],
/// which divides by the norms anyway).
pub fn embed(model: &Bert, tokens: Tensor<2, Int>, padding: Tensor<2, Bool>) -> Tensor<2> {
    let hidden = model.forward(tokens, None, Some(padding.clone()));
    mean_pool(hidden, padding)
}

/// cos(u, v) = (u · v) / (‖u‖ ‖v‖) for every pair of rows of `embeddings`.
pub fn cosine_similarities(embeddings: Tensor<2>) -> Tensor<2> {
    let norms = embeddings.clone().powi_scalar(2).sum_dim(1).sqrt(); // [n, 1]
    let unit = embeddings / norms;
    unit.clone().matmul(unit.transpose())
}
// ANCHOR_END: embed
