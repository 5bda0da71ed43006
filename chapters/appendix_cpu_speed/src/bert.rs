//! Chapter 6's BERT on this appendix's kernels, plugged into the kit's training loop: the same encoder with every
//! dropout mask drawn in parallel from its key ([`dropout`](crate::dropout)) and the feed-forward network's exact
//! GELU fused ([`gelu`](crate::gelu)). [`FastMaskedLm`] is chapter 6's pretraining task with its loss computed that
//! way and each batch split over the CPU's cores. Without dropout the numbers are chapter 6's up to rounding, which
//! the tests check (the forward pass on both backends, training steps on the CPU); with dropout the masks are other
//! draws of the same distribution.

use attention::{attention_weights, self_attention_mask};
use bert::BertError;
use bert::masking::{Masked, MaskedBatch, masked_lm_loss};
use bert::model::{Bert, BertForMaskedLm};
use bert::training::{MaskedLanguageModeling, MlmScore, RunState, Trainer};
use burn::optim::GradientsParams;
use burn::prelude::*;
use common::train::{LossPoint, Task, Trainer as Engine};
use multi_head::{MultiHeadAttention, merge_heads, position_wise};
use transformer::blocks::Residual;
use transformer::{Activation, EncoderLayer, FeedForward, NormPosition};

use crate::data_parallel::{cores_for, keyed_slices_gradients, keyed_slices_loss, slice_ranges};
use crate::dropout::{DropoutKeys, SiteKeys, dropout_layer};
use crate::gelu::gelu;

// ANCHOR: fast
/// [`BertForMaskedLm::forward_at`] with each dropout site drawing its mask from the next of `keys`, and each
/// layer computed by [`encoder_layer`]: logits `[n, V]` at the positions `at` of the flattened batch.
pub fn forward_at(
    model: &BertForMaskedLm,
    tokens: Tensor<2, Int>,
    padding: Option<Tensor<2, Bool>>,
    at: Tensor<1, Int>,
    keys: &mut SiteKeys,
) -> Tensor<2> {
    let x = encoder(&model.bert, tokens, padding, keys);
    let [batch, t, d] = x.dims();
    let hidden = x.reshape([batch * t, d]).select(0, at);
    model
        .mlm
        .forward(hidden, model.bert.embeddings.input.token.weight.val())
}

/// [`Bert::forward`] (one segment) with each dropout site drawing its mask from the next of `keys` and each layer
/// computed by [`encoder_layer`]: hidden states `[batch, t, d]`.
pub fn encoder(
    bert: &Bert,
    tokens: Tensor<2, Int>,
    padding: Option<Tensor<2, Bool>>,
    keys: &mut SiteKeys,
) -> Tensor<3> {
    let embeddings = &bert.embeddings;
    let segments = embeddings.segment.forward(tokens.zeros_like());
    let x = embeddings.norm.forward(embeddings.input.forward(tokens) + segments);
    let mut x = dropout_layer(&embeddings.dropout, x, keys.next_key());
    let [batch, t, _] = x.dims();
    // Which keys each query may see, the same in every layer and head: `[batch, 1, t, t]`.
    let allowed = self_attention_mask(batch, t, false, padding, &x.device()).map(|m| m.unsqueeze_dim::<4>(1));
    for layer in &bert.layers {
        x = encoder_layer(layer, x, allowed.clone(), keys);
    }
    x
}

/// [`EncoderLayer::forward`] on the appendix's dropout and, for the exact GELU, the fused GELU; `allowed`
/// `[batch, 1, t, t]` says which keys each query may see.
pub fn encoder_layer(
    layer: &EncoderLayer,
    x: Tensor<3>,
    allowed: Option<Tensor<4, Bool>>,
    keys: &mut SiteKeys,
) -> Tensor<3> {
    let x = residual(&layer.around_attention, x, keys, |h, keys| {
        self_attention(&layer.self_attention, h, allowed, keys)
    });
    residual(&layer.around_feed_forward, x, keys, |h, keys| {
        feed_forward(&layer.feed_forward, h, keys)
    })
}

/// [`Residual::forward`]: x + Dropout(F(·)), the norm after the sum (post) or before F (pre).
fn residual(
    residual: &Residual,
    x: Tensor<3>,
    keys: &mut SiteKeys,
    sublayer: impl FnOnce(Tensor<3>, &mut SiteKeys) -> Tensor<3>,
) -> Tensor<3> {
    match residual.position {
        NormPosition::Post => {
            let f = sublayer(x.clone(), keys);
            residual
                .norm
                .forward(x + dropout_layer(&residual.dropout, f, keys.next_key()))
        }
        NormPosition::Pre => {
            let f = sublayer(residual.norm.forward(x.clone()), keys);
            x + dropout_layer(&residual.dropout, f, keys.next_key())
        }
    }
}

/// Chapter 3's self-attention under the mask `allowed`, its weights dropped out by the appendix's dropout.
fn self_attention(
    attention: &MultiHeadAttention,
    x: Tensor<3>,
    allowed: Option<Tensor<4, Bool>>,
    keys: &mut SiteKeys,
) -> Tensor<3> {
    let (q, k, v) = attention.project(x.clone(), x.clone(), x);
    let weights = attention_weights(q, k, allowed); // [batch, h, t, t]
    let heads = dropout_layer(&attention.dropout, weights, keys.next_key()).matmul(v);
    position_wise(&attention.w_o, merge_heads(heads))
}

/// [`FeedForward::forward`] with the appendix's dropout, and the fused GELU when the activation is the exact GELU.
fn feed_forward(network: &FeedForward, x: Tensor<3>, keys: &mut SiteKeys) -> Tensor<3> {
    let hidden = position_wise(&network.linear_1, x);
    let hidden = match network.activation {
        Activation::Gelu => gelu(hidden),
        activation => activation.apply(hidden),
    };
    position_wise(
        &network.linear_2,
        dropout_layer(&network.dropout, hidden, keys.next_key()),
    )
}
// ANCHOR_END: fast

// ANCHOR: task
/// Chapter 6's task with its loss computed by [`forward_at`] and each batch split in `shards` slices computed at
/// once ([`slice_gradients`]); the sequences, the evaluation and the checkpoints are chapter 6's. The masks' keys
/// come from `dropout_seed` (the run's, from its plan) and the step.
pub struct FastMaskedLm {
    pub chapter: MaskedLanguageModeling,
    pub shards: usize,
    pub dropout_seed: u64,
}

/// A step's batch in slices of its sequences, each padded on its own, with its index (its masks' keys) and its
/// share of the batch's chosen positions (the loss is their mean, so L = Σ_s (n_s/n)·L_s); and the step.
pub struct Slices {
    pub step: usize,
    pub slices: Vec<(usize, MaskedBatch, f32)>,
}

impl Task for FastMaskedLm {
    type Model = BertForMaskedLm;
    type Batch = Slices;
    type Score = MlmScore;
    type State = RunState;
    type Error = BertError;
    const UNIT: &'static str = "tokens";
    /// The chapter's own: its checkpoints are the chapter's.
    const KIND: &'static str = <MaskedLanguageModeling as Task>::KIND;

    /// Chapter 6's sequences for the step in `shards` slices of sizes that differ by at most one. A slice with no
    /// chosen position weighs nothing and is left out; a batch with none at all is one slice, which scores a
    /// stand-in as chapter 6's does.
    fn batch(&mut self, step: usize, device: &Device) -> Result<Slices, BertError> {
        let sequences = self.chapter.masked_sequences(step)?;
        let pad = self.chapter.vocab.special().pad;
        let chosen = |part: &[Masked]| part.iter().flat_map(|m| &m.targets).flatten().count();
        let total = chosen(&sequences);
        let slices = if total == 0 {
            vec![(0, MaskedBatch::new(&sequences, pad, device), 1.0)]
        } else {
            let parts = slice_ranges(sequences.len(), self.shards).into_iter().enumerate();
            parts
                .map(|(s, rows)| (s, &sequences[rows]))
                .map(|(s, part)| (s, part, chosen(part)))
                .filter(|&(_, _, n)| n > 0)
                .map(|(s, part, n)| (s, MaskedBatch::new(part, pad, device), n as f32 / total as f32))
                .collect()
        };
        Ok(Slices { step, slices })
    }

    /// Every position of every slice, its padding included.
    fn size(&self, batch: &Slices) -> usize {
        batch.slices.iter().map(|(_, slice, _)| self.chapter.size(slice)).sum()
    }

    fn loss(&self, model: &BertForMaskedLm, batch: Slices) -> Tensor<1> {
        let keys = DropoutKeys::new(self.dropout_seed, batch.step);
        keyed_slices_loss(model, &keys, batch.slices, slice_loss)
    }

    fn gradients(&self, model: &BertForMaskedLm, batch: Slices) -> (Tensor<1>, GradientsParams) {
        let keys = DropoutKeys::new(self.dropout_seed, batch.step);
        let device = batch.slices[0].1.inputs.device();
        keyed_slices_gradients(model, &keys, batch.slices, &device, slice_loss)
    }

    fn evaluate(
        &mut self,
        model: &BertForMaskedLm,
        step: usize,
        history: &[LossPoint],
        device: &Device,
    ) -> Result<MlmScore, BertError> {
        self.chapter.evaluate(model, step, history, device)
    }

    fn state(&self) -> RunState {
        self.chapter.state()
    }

    fn files(&self) -> Vec<(&'static str, Vec<u8>)> {
        self.chapter.files()
    }
}

/// The masked-LM loss of one slice, its dropout drawing from `keys`.
fn slice_loss(model: &BertForMaskedLm, batch: MaskedBatch, keys: &mut SiteKeys) -> Tensor<1> {
    let logits = forward_at(model, batch.inputs, Some(batch.padding), batch.positions, keys);
    masked_lm_loss(logits, batch.targets)
}
// ANCHOR_END: task

/// Chapter 6's run continued on the appendix's kernels, its batches split in `shards` slices (as many as the CPU has
/// cores; 1 on a GPU, which is parallel within each operation already). The masks are the same whatever thread draws
/// them, but a batch in another number of slices draws other masks.
pub fn with_shards(trainer: Trainer, shards: usize) -> Engine<FastMaskedLm> {
    let dropout_seed = trainer.plan.dropout_seed.unwrap_or(trainer.task.config.training.seed);
    trainer.map_task(|chapter| FastMaskedLm {
        chapter,
        shards,
        dropout_seed,
    })
}

/// [`with_shards`] with one slice per core on the CPU, one on a GPU ([`cores_for`]).
pub fn fast(trainer: Trainer) -> Engine<FastMaskedLm> {
    let shards = cores_for(trainer.device());
    with_shards(trainer, shards)
}
