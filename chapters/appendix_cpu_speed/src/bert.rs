//! Chapter 6's BERT on this appendix's kernels, plugged into the kit's training loop: the same encoder with every
//! dropout mask drawn in parallel from its key ([`dropout`](crate::dropout)) and the feed-forward network's exact
//! GELU fused ([`gelu`](crate::gelu)). [`FastMaskedLm`] is chapter 6's pretraining task with its loss computed that
//! way. Without dropout the numbers are chapter 6's up to rounding, which the tests check on both backends; with
//! dropout the masks are other draws of the same distribution.

use attention::{attention_weights, self_attention_mask};
use bert::BertError;
use bert::masking::{MaskedBatch, masked_lm_loss};
use bert::model::BertForMaskedLm;
use bert::training::{MaskedLanguageModeling, MlmScore, RunState, Trainer};
use burn::prelude::*;
use common::train::{LossPoint, Task, Trainer as Engine};
use multi_head::{MultiHeadAttention, merge_heads, position_wise};
use transformer::blocks::Residual;
use transformer::{Activation, EncoderLayer, FeedForward, NormPosition};

use crate::dropout::{DropoutKeys, dropout};
use crate::gelu::gelu;

// ANCHOR: fast
/// [`BertForMaskedLm::forward_at`] with each dropout site drawing its mask from the next of `keys`, and each
/// layer computed by [`encoder_layer`]: logits `[n, V]` at the positions `at` of the flattened batch.
pub fn forward_at(
    model: &BertForMaskedLm,
    tokens: Tensor<2, Int>,
    padding: Option<Tensor<2, Bool>>,
    at: Tensor<1, Int>,
    keys: &mut DropoutKeys,
) -> Tensor<2> {
    let embeddings = &model.bert.embeddings;
    let segments = embeddings.segment.forward(tokens.zeros_like());
    let x = embeddings.norm.forward(embeddings.input.forward(tokens) + segments);
    let mut x = dropout(x, embeddings.dropout.prob, keys.next_key());
    for layer in &model.bert.layers {
        x = encoder_layer(layer, x, padding.clone(), keys);
    }
    let [batch, t, d] = x.dims();
    let hidden = x.reshape([batch * t, d]).select(0, at);
    model.mlm.forward(hidden, embeddings.input.token.weight.val())
}

/// [`EncoderLayer::forward`] on the appendix's dropout and, for the exact GELU, the fused GELU.
pub fn encoder_layer(
    layer: &EncoderLayer,
    x: Tensor<3>,
    padding: Option<Tensor<2, Bool>>,
    keys: &mut DropoutKeys,
) -> Tensor<3> {
    let x = residual(&layer.around_attention, x, keys, |h, keys| {
        self_attention(&layer.self_attention, h, padding, keys)
    });
    residual(&layer.around_feed_forward, x, keys, |h, keys| {
        feed_forward(&layer.feed_forward, h, keys)
    })
}

/// [`Residual::forward`]: x + Dropout(F(·)), the norm after the sum (post) or before F (pre).
fn residual(
    residual: &Residual,
    x: Tensor<3>,
    keys: &mut DropoutKeys,
    sublayer: impl FnOnce(Tensor<3>, &mut DropoutKeys) -> Tensor<3>,
) -> Tensor<3> {
    let p = residual.dropout.prob;
    match residual.position {
        NormPosition::Post => {
            let f = sublayer(x.clone(), keys);
            residual.norm.forward(x + dropout(f, p, keys.next_key()))
        }
        NormPosition::Pre => {
            let f = sublayer(residual.norm.forward(x.clone()), keys);
            x + dropout(f, p, keys.next_key())
        }
    }
}

/// Chapter 3's self-attention with a key-padding mask, its weights dropped out by the appendix's dropout.
fn self_attention(
    attention: &MultiHeadAttention,
    x: Tensor<3>,
    padding: Option<Tensor<2, Bool>>,
    keys: &mut DropoutKeys,
) -> Tensor<3> {
    let [batch, t, _] = x.dims();
    let allowed = self_attention_mask(batch, t, false, padding, &x.device()).map(|m| m.unsqueeze_dim::<4>(1));
    let (q, k, v) = attention.project(x.clone(), x.clone(), x);
    let weights = attention_weights(q, k, allowed); // [batch, h, t, t]
    let heads = dropout(weights, attention.dropout.prob, keys.next_key()).matmul(v);
    position_wise(&attention.w_o, merge_heads(heads))
}

/// [`FeedForward::forward`] with the appendix's dropout, and the fused GELU when the activation is the exact GELU.
fn feed_forward(network: &FeedForward, x: Tensor<3>, keys: &mut DropoutKeys) -> Tensor<3> {
    let hidden = position_wise(&network.linear_1, x);
    let hidden = match network.activation {
        Activation::Gelu => gelu(hidden),
        activation => activation.apply(hidden),
    };
    position_wise(
        &network.linear_2,
        dropout(hidden, network.dropout.prob, keys.next_key()),
    )
}
// ANCHOR_END: fast

// ANCHOR: task
/// Chapter 6's task with its loss computed by [`forward_at`]; the batches, the evaluation and the checkpoints are
/// chapter 6's. A batch carries its step, whose masks its dropout draws (keys from the run's dropout seed and
/// the step: a resumed run draws the uninterrupted run's masks).
pub struct FastMaskedLm {
    pub chapter: MaskedLanguageModeling,
}

impl FastMaskedLm {
    /// The seed every mask's key starts from: the one chapter 6's run seeds its dropout with.
    fn dropout_seed(&self) -> u64 {
        self.chapter
            .config
            .plan()
            .dropout_seed
            .unwrap_or(self.chapter.config.training.seed)
    }
}

impl Task for FastMaskedLm {
    type Model = BertForMaskedLm;
    type Batch = (MaskedBatch, usize);
    type Score = MlmScore;
    type State = RunState;
    type Error = BertError;
    const UNIT: &'static str = "tokens";

    fn batch(&mut self, step: usize, device: &Device) -> Result<(MaskedBatch, usize), BertError> {
        Ok((self.chapter.batch(step, device)?, step))
    }

    fn size(&self, (batch, _): &(MaskedBatch, usize)) -> usize {
        self.chapter.size(batch)
    }

    fn loss(&self, model: &BertForMaskedLm, (batch, step): (MaskedBatch, usize)) -> Tensor<1> {
        let mut keys = DropoutKeys::new(self.dropout_seed(), step);
        let logits = forward_at(model, batch.inputs, Some(batch.padding), batch.positions, &mut keys);
        masked_lm_loss(logits, batch.targets)
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
// ANCHOR_END: task

/// Chapter 6's run continued on the appendix's kernels.
pub fn fast(trainer: Trainer) -> Engine<FastMaskedLm> {
    trainer.map_task(|chapter| FastMaskedLm { chapter })
}
