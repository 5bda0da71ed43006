//! Dropout whose mask is drawn in parallel from a counter-based generator.
//!
//! burn's `Dropout` draws its mask from the device's generator (ChaCha), one element after another on one thread:
//! in a BERT pretraining step on the CPU, about a quarter of the time. Here element i of a mask is kept when the
//! i-th number of a SplitMix64 sequence seeded by the mask's key is at least p · 2⁶⁴. SplitMix64's i-th number needs
//! none before it (its state after i steps is key + i·γ), so every core draws its own part of the mask, and the
//! mask is a function of its key alone: a key made of (seed, step, site), the dropout's place in the forward pass,
//! gives a resumed run the masks of the uninterrupted one, whatever thread computes them.
//!
//! The output is x ⊙ m / (1 - p) with m the mask of zeros and ones, as burn's; the backward pass is the same
//! product with the incoming gradient, which burn derives, since the mask is a constant.

use burn::prelude::*;
use burn::tensor::TensorData;
use common::rng::SplitMix64;
use rayon::prelude::*;

// ANCHOR: mask
/// The mask's scaled values, m_i / (1 - p), for `len` elements: element i is 0 when the i-th number of
/// SplitMix64 seeded with `key` is below p · 2⁶⁴, else 1 / (1 - p). Drawn in blocks, one per task of rayon.
pub fn scaled_mask(key: u64, len: usize, p: f64) -> Vec<f32> {
    const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
    const BLOCK: usize = 16 * 1024;
    // p · 2⁶⁴ in u128, so that p close to 1 cannot overflow; a number below it drops its element.
    let threshold = (p * 2f64.powi(64)) as u128;
    let kept = (1.0 / (1.0 - p)) as f32;
    let mut mask = vec![0.0f32; len];
    mask.par_chunks_mut(BLOCK).enumerate().for_each(|(block, values)| {
        let first = (block * BLOCK) as u64;
        // Positioned just before element `first`: the next number is the sequence's `first`-th (counting from 0).
        let mut numbers = SplitMix64::new(key.wrapping_add(first.wrapping_mul(GAMMA)));
        for value in values {
            *value = if (numbers.next_u64() as u128) < threshold {
                0.0
            } else {
                kept
            };
        }
    });
    mask
}
// ANCHOR_END: mask

// ANCHOR: dropout
/// Dropout(x) = x ⊙ m / (1 - p) with the mask of `key` ([`scaled_mask`]), while training (on an autodiff device,
/// as burn's `Dropout`); x itself otherwise, or when p = 0.
pub fn dropout<const D: usize>(x: Tensor<D>, p: f64, key: u64) -> Tensor<D> {
    if p == 0.0 || !x.device().is_autodiff() {
        return x;
    }
    let shape = x.shape();
    let mask = scaled_mask(key, shape.num_elements(), p);
    let mask = Tensor::<D>::from_data(TensorData::new(mask, shape), &x.device());
    x * mask
}

/// The key of each dropout site of one forward pass: site k of step s of a run seeded with `seed` draws the mask
/// of a key mixed from (seed, s, k), so that every site, step and run has a mask of its own.
#[derive(Debug, Clone)]
pub struct DropoutKeys {
    /// Mixed from the seed and the step (and the slice of a batch split over threads).
    stream: u64,
    site: u64,
}

impl DropoutKeys {
    pub fn new(seed: u64, step: usize) -> Self {
        Self {
            stream: mix(seed, step as u64),
            site: 0,
        }
    }

    /// The keys of slice `slice` of a batch split over threads: each slice's sites draw masks of their own.
    pub fn for_slice(&self, slice: usize) -> Self {
        Self {
            stream: mix(self.stream, slice as u64),
            site: 0,
        }
    }

    /// The next site's key.
    pub fn next_key(&mut self) -> u64 {
        self.site += 1;
        mix(self.stream, self.site)
    }
}

/// A key made from `key` and `part`, by one step of SplitMix64 (which scrambles every bit of its state).
fn mix(key: u64, part: u64) -> u64 {
    SplitMix64::new(key ^ part).next_u64()
}
// ANCHOR_END: dropout
