//! Turning the trained model into answers: greedy decoding, and the task's exact-match accuracy.

use burn::prelude::*;

use crate::data::{BOS, EOS, Example, MAX_TGT_LEN, PAD};
use crate::model::Transformer;

// ANCHOR: greedy
/// Greedy decoding of a batch: encode the sources once, then repeatedly run the decoder on the tokens produced
/// so far and append each sequence's most likely next token, until every sequence has produced EOS or
/// `max_len` tokens. Returns each sequence's tokens without BOS, cut before its EOS.
pub fn greedy_decode(model: &Transformer, sources: &[&[usize]], max_len: usize, device: &Device) -> Vec<Vec<usize>> {
    let batch = sources.len();
    let t_src = sources.iter().map(|s| s.len()).max().unwrap_or(1);
    let src: Vec<i64> = sources
        .iter()
        .flat_map(|s| {
            s.iter()
                .map(|&id| id as i64)
                .chain(std::iter::repeat(PAD as i64))
                .take(t_src)
        })
        .collect();
    let src = Tensor::<1, Int>::from_ints(src.as_slice(), device).reshape([batch, t_src]);
    let src_padding = src.clone().not_equal_elem(PAD as i64);
    let memory = model.encode(src, Some(src_padding.clone()));

    let mut produced: Vec<Vec<usize>> = vec![Vec::new(); batch];
    let mut tgt = Tensor::<2, Int>::full([batch, 1], BOS as i64, device);
    for step in 0..max_len {
        let logits = model.decode(tgt.clone(), memory.clone(), None, Some(src_padding.clone())); // [batch, step+1, V]
        let next = logits.slice([0..batch, step..step + 1]).argmax(2).reshape([batch, 1]); // [batch, 1]
        let ids = next
            .to_data()
            .convert::<i64>()
            .try_into_vec::<i64>()
            .expect("token ids");
        for (sequence, &id) in produced.iter_mut().zip(&ids) {
            sequence.push(id as usize);
        }
        if produced.iter().all(|s| s.contains(&EOS)) {
            break;
        }
        tgt = Tensor::cat(vec![tgt, next], 1);
    }
    for sequence in &mut produced {
        if let Some(end) = sequence.iter().position(|&id| id == EOS) {
            sequence.truncate(end);
        }
    }
    produced
}
// ANCHOR_END: greedy

/// The model's answers for `examples`, in batches of `batch_size`.
pub fn predict(model: &Transformer, examples: &[Example], batch_size: usize, device: &Device) -> Vec<Vec<usize>> {
    examples
        .chunks(batch_size)
        .flat_map(|chunk| {
            let sources: Vec<&[usize]> = chunk.iter().map(|e| e.src.as_slice()).collect();
            greedy_decode(model, &sources, MAX_TGT_LEN, device)
        })
        .collect()
}

/// The fraction of `examples` whose predicted digits are exactly right.
pub fn exact_match(predictions: &[Vec<usize>], examples: &[Example]) -> f64 {
    let right = predictions.iter().zip(examples).filter(|(p, e)| **p == e.tgt).count();
    right as f64 / examples.len().max(1) as f64
}
