//! The masked-LM objective: which tokens are hidden, what the model sees in their place, and the loss on them.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use common::rng::SplitMix64;
use serde::{Deserialize, Serialize};

/// The ids of BERT's special tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialTokens {
    pub pad: u32,
    pub unk: u32,
    pub cls: u32,
    pub sep: u32,
    pub mask: u32,
}

impl SpecialTokens {
    pub fn contains(&self, id: u32) -> bool {
        [self.pad, self.unk, self.cls, self.sep, self.mask].contains(&id)
    }
}

// ANCHOR: masking
/// Devlin et al.'s recipe: each non-special token is *chosen* with probability `mask_prob`; a chosen token is
/// replaced by `[MASK]` with probability `to_mask`, by a random token with probability `to_random`, and kept
/// otherwise (80/10/10). The model is scored on the chosen tokens only.
#[derive(Config, Debug, PartialEq)]
pub struct MaskingConfig {
    #[config(default = 0.15)]
    pub mask_prob: f64,
    #[config(default = 0.8)]
    pub to_mask: f64,
    #[config(default = 0.1)]
    pub to_random: f64,
}

/// One sequence after masking: what the model reads, and the original token at each chosen position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Masked {
    pub inputs: Vec<u32>,
    /// `Some(original)` where the token was chosen, `None` elsewhere (no loss there).
    pub targets: Vec<Option<u32>>,
}

/// Masks `tokens` by [`MaskingConfig`]'s recipe, drawing from `rng`. Special tokens are never chosen; a random
/// replacement is any non-special token of the `vocab_size` ids.
pub fn mask_tokens(
    tokens: &[u32],
    special: &SpecialTokens,
    vocab_size: usize,
    config: &MaskingConfig,
    rng: &mut SplitMix64,
) -> Masked {
    let chosen: Vec<bool> = tokens
        .iter()
        .map(|&token| !special.contains(token) && rng.next_f64() < config.mask_prob)
        .collect();
    corrupt(tokens, &chosen, special, vocab_size, config, rng)
}

/// The chosen tokens replaced by `[MASK]` (share `to_mask`), a random token (`to_random`) or kept, each on its
/// own draw; the targets are the chosen tokens. Any way of choosing (single tokens, whole words, spans) ends here.
pub fn corrupt(
    tokens: &[u32],
    chosen: &[bool],
    special: &SpecialTokens,
    vocab_size: usize,
    config: &MaskingConfig,
    rng: &mut SplitMix64,
) -> Masked {
    let mut inputs = tokens.to_vec();
    let mut targets = vec![None; tokens.len()];
    for (i, &token) in tokens.iter().enumerate().filter(|&(i, _)| chosen[i]) {
        targets[i] = Some(token);
        let r = rng.next_f64();
        if r < config.to_mask {
            inputs[i] = special.mask;
        } else if r < config.to_mask + config.to_random {
            inputs[i] = random_token(special, vocab_size, rng);
        } // else: kept, so that the model cannot learn that a visible token is never the answer
    }
    Masked { inputs, targets }
}

/// A uniformly drawn non-special token.
fn random_token(special: &SpecialTokens, vocab_size: usize, rng: &mut SplitMix64) -> u32 {
    loop {
        let id = rng.below(vocab_size) as u32;
        if !special.contains(id) {
            return id;
        }
    }
}
// ANCHOR_END: masking

// ANCHOR: batch
/// A padded batch of masked sequences, as the model and the loss take it.
#[derive(Debug, Clone)]
pub struct MaskedBatch {
    /// `[batch, t]`, padded with `[PAD]` to the longest sequence.
    pub inputs: Tensor<2, Int>,
    /// `[batch, t]`, true at real tokens.
    pub padding: Tensor<2, Bool>,
    /// `[n]`: the chosen positions, as rows b · t + i of the flattened batch.
    pub positions: Tensor<1, Int>,
    /// `[n]`: the original token at each chosen position.
    pub targets: Tensor<1, Int>,
}

impl MaskedBatch {
    /// Pads `sequences` and gathers their chosen positions. A batch in which nothing was chosen (possible for a
    /// few short lines) scores its first real position, so that the loss is always a mean over at least one token.
    ///
    /// # Panics
    /// If `sequences` is empty or holds an empty sequence.
    pub fn new(sequences: &[Masked], pad: u32, device: &Device) -> Self {
        let t = sequences
            .iter()
            .map(|s| s.inputs.len())
            .max()
            .expect("a batch has sequences");
        assert!(t > 0, "a batch's sequences have tokens");
        let (mut inputs, mut mask, mut positions, mut targets) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (b, sequence) in sequences.iter().enumerate() {
            let n = sequence.inputs.len();
            inputs.extend(sequence.inputs.iter().map(|&id| id as i64));
            inputs.extend(std::iter::repeat_n(pad as i64, t - n));
            mask.extend((0..t).map(|i| i < n));
            for (i, target) in sequence.targets.iter().enumerate() {
                if let Some(target) = target {
                    positions.push((b * t + i) as i64);
                    targets.push(*target as i64);
                }
            }
        }
        if positions.is_empty() {
            positions.push(0);
            targets.push(sequences[0].inputs[0] as i64);
        }
        let batch = sequences.len();
        let n = positions.len();
        MaskedBatch {
            inputs: Tensor::<1, Int>::from_data(TensorData::new(inputs, [batch * t]), device).reshape([batch, t]),
            padding: Tensor::<1, Bool>::from_data(TensorData::new(mask, [batch * t]), device).reshape([batch, t]),
            positions: Tensor::from_data(TensorData::new(positions, [n]), device),
            targets: Tensor::from_data(TensorData::new(targets, [n]), device),
        }
    }
}
// ANCHOR_END: batch

// ANCHOR: loss
/// The masked-LM loss: -1/|M| Σ_{i∈M} log p(x_i | x̃) over the chosen positions M
/// only, from their logits `[n, V]`. Averaging over every position instead (padding and unchosen tokens
/// included, with targets that are just the input) is the common bug: the loss then falls by copying the input.
pub fn masked_lm_loss(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    let n = targets.dims()[0];
    let log_p = log_softmax(logits, 1);
    log_p.gather(1, targets.reshape([n, 1])).mean().neg()
}

/// How many of the chosen positions the model's most likely token gets right, `[1]` (still on the device).
pub fn correct_predictions(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1, Int> {
    let n = targets.dims()[0];
    logits.argmax(1).reshape([n]).equal(targets).int().sum()
}
// ANCHOR_END: loss
