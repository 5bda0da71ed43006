//! Chapter 7's classifier on this appendix's kernels, plugged into the kit's training loop: a BERT backbone (the
//! chapter's own, MiniLM or its random twin) runs [`bert::encoder`](crate::bert::encoder), a GPT backbone
//! [`gpt::hidden_states`](crate::gpt::hidden_states), and the head's dropout draws its mask from its key.
//! [`FastFineTuning`] is chapter 7's task with its loss computed that way and each batch split over the CPU's
//! cores; the messages, the evaluation and the checkpoints are chapter 7's. Without dropout the numbers are chapter
//! 7's up to rounding, which the tests check.

use burn::optim::GradientsParams;
use burn::prelude::*;
use classify::ClassifyError;
use classify::backbones::Architecture;
use classify::model::{Backbone, Classifier};
use classify::training::{Batch, EpochScores, FineTuning, cross_entropy, make_batch};
use common::train::{LossPoint, Task, Trainer};

use crate::data_parallel::{cores_for, keyed_slices_gradients, keyed_slices_loss, slice_ranges};
use crate::dropout::{DropoutKeys, SiteKeys, dropout_layer};

// ANCHOR: fast
/// [`Classifier::forward`] on the appendix's kernels: class scores `[batch, 2]`, each dropout site of a BERT
/// backbone and the head's drawing its mask from the next of `keys` (a GPT backbone's dropout draws from burn's
/// generator, as chapter 5's kernels do).
pub fn logits(model: &Classifier, tokens: Tensor<2, Int>, padding: Tensor<2, Bool>, keys: &mut SiteKeys) -> Tensor<2> {
    let hidden = match &model.backbone {
        Backbone::Gpt(gpt) => crate::gpt::hidden_states(gpt, tokens),
        Backbone::Bert(bert) => crate::bert::encoder(bert, tokens, Some(padding.clone()), keys),
    };
    let features = model.pool(hidden, padding);
    model
        .head
        .forward(dropout_layer(&model.dropout, features, keys.next_key()))
}
// ANCHOR_END: fast

// ANCHOR: task
/// Chapter 7's task with its loss computed by [`logits`] and each batch split in `shards` slices computed at once
/// ([`keyed_slices_gradients`]). The masks' keys come from `dropout_seed` and the step.
pub struct FastFineTuning<'a> {
    pub chapter: FineTuning<'a>,
    pub shards: usize,
    pub dropout_seed: u64,
}

/// A step's messages in slices, each padded to its own longest message, with its index (its masks' keys) and its
/// share b_s/B of the batch (the loss is the mean over messages, so L = Σ_s (b_s/B)·L_s); and the step.
pub struct Slices {
    pub step: usize,
    pub slices: Vec<(usize, Batch, f32)>,
}

impl<'a> Task for FastFineTuning<'a> {
    type Model = Classifier;
    type Batch = Slices;
    type Score = EpochScores;
    type State = <FineTuning<'a> as Task>::State;
    type Error = ClassifyError;
    const UNIT: &'static str = "examples";
    /// The chapter's own: its checkpoints are the chapter's.
    const KIND: &'static str = <FineTuning<'a> as Task>::KIND;

    /// Chapter 7's messages for the step in `shards` slices of sizes that differ by at most one.
    fn batch(&mut self, step: usize, device: &Device) -> Result<Slices, ClassifyError> {
        let messages = self.chapter.messages(step);
        let (encoder, max_len) = (&self.chapter.encoder, self.chapter.state.classifier.max_len);
        let slices = slice_ranges(messages.len(), self.shards).into_iter().enumerate();
        let slices = slices
            .map(|(s, rows)| {
                let share = rows.len() as f32 / messages.len() as f32;
                Ok((s, make_batch(encoder, &messages[rows], max_len, device)?, share))
            })
            .collect::<Result<_, ClassifyError>>()?;
        Ok(Slices { step, slices })
    }

    fn size(&self, batch: &Slices) -> usize {
        batch.slices.iter().map(|(_, slice, _)| slice.labels.dims()[0]).sum()
    }

    fn loss(&self, model: &Classifier, batch: Slices) -> Tensor<1> {
        let keys = DropoutKeys::new(self.dropout_seed, batch.step);
        keyed_slices_loss(model, &keys, batch.slices, slice_loss)
    }

    fn gradients(&self, model: &Classifier, batch: Slices) -> (Tensor<1>, GradientsParams) {
        let keys = DropoutKeys::new(self.dropout_seed, batch.step);
        let device = batch.slices[0].1.labels.device();
        keyed_slices_gradients(model, &keys, batch.slices, &device, slice_loss)
    }

    fn evaluate(
        &mut self,
        model: &Classifier,
        step: usize,
        history: &[LossPoint],
        device: &Device,
    ) -> Result<EpochScores, ClassifyError> {
        self.chapter.evaluate(model, step, history, device)
    }

    fn kept(&self, model: Classifier) -> Classifier {
        self.chapter.kept(model)
    }

    fn state(&self) -> Self::State {
        self.chapter.state()
    }

    fn files(&self) -> Vec<(&'static str, Vec<u8>)> {
        self.chapter.files()
    }
}

/// The cross-entropy of one slice, its dropout drawing from `keys`.
fn slice_loss(model: &Classifier, batch: Batch, keys: &mut SiteKeys) -> Tensor<1> {
    cross_entropy(logits(model, batch.tokens, batch.padding, keys), batch.labels)
}
// ANCHOR_END: task

/// Chapter 7's run continued on the appendix's kernels, its batches split in `shards` slices. A GPT backbone with
/// dropout draws its masks from the device's one generator: more than one slice would make such a run
/// irreproducible, so it keeps one.
pub fn with_shards<'a>(trainer: Trainer<FineTuning<'a>>, shards: usize) -> Trainer<FastFineTuning<'a>> {
    let config = &trainer.task.state.config;
    let shards = match &trainer.task.state.classifier.architecture {
        Architecture::Gpt(gpt) if gpt.dropout > 0.0 => 1,
        _ => shards.clamp(1, config.batch_size),
    };
    let dropout_seed = trainer.plan.dropout_seed.unwrap_or(config.seed);
    trainer.map_task(|chapter| FastFineTuning {
        chapter,
        shards,
        dropout_seed,
    })
}

/// [`with_shards`] with one slice per core on the CPU, one on a GPU ([`cores_for`]).
pub fn fast(trainer: Trainer<FineTuning<'_>>) -> Trainer<FastFineTuning<'_>> {
    let shards = cores_for(trainer.device());
    with_shards(trainer, shards)
}
