//! Dropout whose mask is drawn in parallel from a counter-based generator.
//!
//! burn's `Dropout` draws its mask from the device's generator (ChaCha), one element after another on one thread:
//! in a BERT pretraining step on the CPU, about a quarter of the time. Here element i of a mask is kept when the
//! i-th number of a SplitMix64 sequence seeded by the mask's key is at least p · 2⁶⁴. SplitMix64's i-th number needs
//! none before it ([`SplitMix64::at`]), so every core draws its own part of the mask, and the mask is a function of
//! its key alone: a key made of (seed, step, site), the dropout's place in the forward pass, gives a resumed run the
//! masks of the uninterrupted one, whatever thread computes them, as long as its batches are split in as many
//! slices (each slice's sites have keys of their own).
//!
//! The output is x ⊙ m / (1 - p) with m the mask of zeros and ones, as burn's; the backward pass is the same
//! product with the incoming gradient, which burn derives, since the mask is a constant.

use burn::nn::Dropout;
use burn::prelude::*;
use burn::tensor::TensorData;
use common::rng::SplitMix64;
use common::train::step_seed;
use rayon::prelude::*;

// ANCHOR: mask
/// The mask's scaled values, m_i / (1 - p), for `len` elements: element i is 0 when the i-th number of
/// SplitMix64 seeded with `key` is below p · 2⁶⁴, else 1 / (1 - p). Each element is drawn from its index alone,
/// on all of rayon's threads.
pub fn scaled_mask(key: u64, len: usize, p: f64) -> Vec<f32> {
    // p · 2⁶⁴ in u128, so that p close to 1 cannot overflow; a number below it drops its element.
    let threshold = (p * 2f64.powi(64)) as u128;
    let kept = (1.0 / (1.0 - p)) as f32;
    (0..len as u64)
        .into_par_iter()
        .map(|i| {
            if (SplitMix64::at(key, i) as u128) < threshold {
                0.0
            } else {
                kept
            }
        })
        .collect()
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

/// burn's dropout layer `layer` with its mask drawn from `key`: [`dropout`] at the layer's p, or x itself when the
/// layer is frozen (freezing clears its training flag, and burn's layer then passes x through).
pub fn dropout_layer<const D: usize>(layer: &Dropout, x: Tensor<D>, key: u64) -> Tensor<D> {
    let p = if layer.training.is_enabled() { layer.prob } else { 0.0 };
    dropout(x, p, key)
}

/// The key of each dropout site of one forward pass: site k of slice s of step t of a run seeded with `seed`
/// draws the mask of a key mixed from (seed, t, s, k), so that every site, slice, step and run has a mask of its
/// own.
#[derive(Debug, Clone)]
pub struct DropoutKeys {
    /// Mixed from the seed and the step.
    step: u64,
}

impl DropoutKeys {
    pub fn new(seed: u64, step: usize) -> Self {
        Self {
            step: step_seed(seed, step),
        }
    }

    /// The keys of the sites of slice `slice` of the step's batch (slice 0 when the batch is not split), in the
    /// order the forward pass reaches them.
    pub fn for_slice(&self, slice: usize) -> SiteKeys {
        SiteKeys {
            slice: step_seed(self.step, slice),
            site: 0,
        }
    }
}

/// The keys of one slice's dropout sites, one after another.
#[derive(Debug, Clone)]
pub struct SiteKeys {
    slice: u64,
    site: usize,
}

impl SiteKeys {
    /// The next site's key.
    pub fn next_key(&mut self) -> u64 {
        self.site += 1;
        step_seed(self.slice, self.site)
    }
}
// ANCHOR_END: dropout
