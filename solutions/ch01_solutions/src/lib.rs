//! Worked answers to chapter 1's exercises. Each one is tested in `tests/`.
//!
//! 1. [`compression_curve`]: how many bytes a BPE token stands for, as the vocabulary grows.
//! 2. [`shift_matrix`]: the linear map that moves a sinusoidal position encoding `k` steps along.
//! 3. [`StreamingDecoder`]: decoding tokens one at a time without printing half a character.

use burn::prelude::*;
use tokens::BpeTokenizer;
use tokens::bpe::{BYTE_TOKENS, BpeError};

// ANCHOR: compression_curve
/// Exercise 1. Bytes per token on `held_out` text for a BPE tokenizer of each size in `vocab_sizes`, trained on
/// `train`.
///
/// BPE training is greedy: the first `m` merges learned for a vocabulary of any size are exactly the merges learned
/// for a vocabulary of `256 + m`. So one training run at the largest size gives every smaller tokenizer as a
/// prefix of its merge list.
pub fn compression_curve(train: &str, held_out: &str, vocab_sizes: &[usize]) -> Result<Vec<(usize, f64)>, BpeError> {
    let largest = vocab_sizes.iter().copied().max().unwrap_or(BYTE_TOKENS);
    let full = BpeTokenizer::train(train, largest)?;
    vocab_sizes
        .iter()
        .map(|&size| {
            let merges = full.merges()[..size.saturating_sub(BYTE_TOKENS).min(full.merges().len())].to_vec();
            let bpe = BpeTokenizer::from_merges(merges)?;
            Ok((size, held_out.len() as f64 / bpe.encode(held_out).len() as f64))
        })
        .collect()
}
// ANCHOR_END: compression_curve

// ANCHOR: shift_matrix
/// Exercise 2. The `[d_model, d_model]` matrix M_k with PE[pos+k] = PE[pos] M_k for every position (row
/// vectors), which shows that attention can express "k tokens back" as a linear function of the encoding.
///
/// It is block diagonal: for each (sin, cos) pair with frequency ω_i, the 2x2 block with rows (cos kω_i, -sin kω_i)
/// and (sin kω_i, cos kω_i) maps (sin a, cos a) to (sin(a + kω_i), cos(a + kω_i)).
pub fn shift_matrix(k: i64, d_model: usize, device: &Device) -> Tensor<2> {
    assert!(d_model.is_multiple_of(2), "d_model must be even, got {d_model}");
    let mut m = vec![0f32; d_model * d_model];
    for i in 0..d_model / 2 {
        let omega = 10_000f64.powf(-(2.0 * i as f64) / d_model as f64);
        let (sin, cos) = ((k as f64 * omega).sin() as f32, (k as f64 * omega).cos() as f32);
        let (s, c) = (2 * i, 2 * i + 1); // row/column of the sin and the cos component
        m[s * d_model + s] = cos; // new sin gets  sin a · cos b
        m[c * d_model + s] = sin; //            + cos a · sin b
        m[s * d_model + c] = -sin; // new cos gets -sin a · sin b
        m[c * d_model + c] = cos; //             + cos a · cos b
    }
    Tensor::<1>::from_floats(m.as_slice(), device).reshape([d_model, d_model])
}
// ANCHOR_END: shift_matrix

// ANCHOR: streaming_decoder
/// Exercise 3. Turns tokens into text one token at a time, as a chat interface prints a model's output.
///
/// A byte-level token can end in the middle of a multi-byte UTF-8 character ('é' is two bytes, '👋' four). Decoding
/// each token on its own would print U+FFFD for each half; this decoder holds the incomplete tail back until the
/// next token completes it.
#[derive(Debug, Default)]
pub struct StreamingDecoder {
    pending: Vec<u8>,
}

impl StreamingDecoder {
    /// The text that token `id` completes (possibly empty).
    pub fn push(&mut self, bpe: &BpeTokenizer, id: u32) -> Result<String, BpeError> {
        self.pending.extend(bpe.decode_bytes(&[id])?);
        let complete = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            // `error_len() == None` means the bytes end inside a character that may still be completed; any other
            // error is a byte sequence that no continuation can repair, which is emitted (lossily) at once.
            Err(err) if err.error_len().is_none() => err.valid_up_to(),
            Err(_) => self.pending.len(),
        };
        let text = String::from_utf8_lossy(&self.pending[..complete]).into_owned();
        self.pending.drain(..complete);
        Ok(text)
    }

    /// Whatever is still held back at the end of the stream, with U+FFFD for an unfinished character.
    pub fn finish(self) -> String {
        String::from_utf8_lossy(&self.pending).into_owned()
    }
}
// ANCHOR_END: streaming_decoder
