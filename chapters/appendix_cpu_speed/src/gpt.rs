//! Chapter 5's GPT on this appendix's kernels, plugged into the kit's training loop: the same blocks with the
//! attention's causal softmax and the MLP's GELU each computed by one fused kernel, and each batch split over the
//! CPU's cores. [`FastLanguageModeling`] is chapter 5's task with its loss and gradients computed that way; the same
//! numbers up to rounding, which the tests check on both backends. The binary `gpt-fast` runs chapter 5's command
//! line with it.

use burn::optim::GradientsParams;
use burn::prelude::*;
use common::train::{LossPoint, Task, Trainer as Engine, backpropagate};
use gpt::model::{Block, Gpt};
use gpt::training::{Evaluation, LanguageModeling, RunState, WindowLosses, Windows, cross_entropy};
use gpt::{GptError, Trainer};
use transformer::Activation;

use crate::attention::causal_self_attention;
use crate::data_parallel::{batch_gradients, map_in_order, shards_for};
use crate::gelu::{gelu, gelu_tanh};

// ANCHOR: fast
/// [`Gpt::forward`] with every block computed by [`block`].
pub fn forward(model: &Gpt, tokens: Tensor<2, Int>) -> Tensor<3> {
    model.lm_head(hidden_states(model, tokens))
}

/// [`Gpt::hidden_states`] with every block computed by [`block`].
pub fn hidden_states(model: &Gpt, tokens: Tensor<2, Int>) -> Tensor<3> {
    let mut x = model.dropout.forward(model.embedding.forward(tokens));
    for b in &model.blocks {
        x = block(b, x);
    }
    model.final_norm.forward(x)
}

/// [`Block::forward`] with the fused causal self-attention and, for either form of GELU, the fused GELU (another
/// activation runs as burn's).
pub fn block(block: &Block, x: Tensor<3>) -> Tensor<3> {
    let x = block
        .around_attention
        .forward(x, |h| causal_self_attention(&block.attention, h));
    block.around_mlp.forward(x, |h| match block.mlp.activation {
        Activation::Gelu => block.mlp.forward_with(h, gelu),
        Activation::GeluTanh => block.mlp.forward_with(h, gelu_tanh),
        _ => block.mlp.forward(h),
    })
}
// ANCHOR_END: fast

// ANCHOR: task
/// Chapter 5's task, its losses computed by [`forward`] and each batch split in `shards` slices computed at once
/// ([`batch_gradients`]); the batches, the evaluation's windows and the checkpoints are chapter 5's.
pub struct FastLanguageModeling {
    pub chapter: LanguageModeling,
    pub shards: usize,
}

impl Task for FastLanguageModeling {
    type Model = Gpt;
    type Batch = Windows;
    type Score = Evaluation;
    type State = RunState;
    type Error = GptError;
    const UNIT: &'static str = "tokens";
    /// The chapter's own: its checkpoints are the chapter's.
    const KIND: &'static str = <LanguageModeling as Task>::KIND;

    fn batch(&mut self, step: usize, device: &Device) -> Result<Windows, GptError> {
        self.chapter.batch(step, device)
    }

    fn size(&self, batch: &Windows) -> usize {
        self.chapter.size(batch)
    }

    fn loss(&self, model: &Gpt, (x, y): Windows) -> Tensor<1> {
        cross_entropy(forward(model, x), y)
    }

    fn gradients(&self, model: &Gpt, (x, y): Windows) -> (Tensor<1>, GradientsParams) {
        if self.shards == 1 {
            return backpropagate(model, self.loss(model, (x, y)));
        }
        batch_gradients(model, x, y, self.shards, |model, x, y| {
            cross_entropy(forward(model, x), y)
        })
    }

    fn evaluate(&mut self, model: &Gpt, step: usize, _: &[LossPoint], device: &Device) -> Result<Evaluation, GptError> {
        self.chapter
            .estimate_loss(step, device, |windows| self.window_losses(model, windows))
    }

    fn state(&self) -> RunState {
        self.chapter.state()
    }

    fn files(&self) -> Vec<(&'static str, Vec<u8>)> {
        self.chapter.files()
    }
}

impl WindowLosses for FastLanguageModeling {
    /// The batches are independent: with several shards, as many threads share them.
    fn window_losses(&self, model: &Gpt, windows: Vec<Windows>) -> Vec<Tensor<1>> {
        map_in_order(windows, self.shards > 1, |(x, y)| cross_entropy(forward(model, x), y))
    }

    fn language_modeling(&self) -> &LanguageModeling {
        &self.chapter
    }
}
// ANCHOR_END: task

/// Chapter 5's run continued on the appendix's kernels, its batches split in `shards` slices (use as many as the
/// CPU has cores, and 1 on a GPU, which is parallel within each operation already). With dropout, the slices draw
/// their masks from the device's one generator in whatever order their threads come to it: such a run is no longer
/// reproducible bit for bit.
pub fn with_shards(trainer: Trainer, shards: usize) -> Engine<FastLanguageModeling> {
    let shards = shards.clamp(1, trainer.task.config.training.batch_size);
    trainer.map_task(|chapter| FastLanguageModeling { chapter, shards })
}

/// [`with_shards`] with as many slices as the run's device takes at once ([`shards_for`]: one per core on the CPU,
/// one on a GPU or with dropout).
pub fn fast(trainer: Trainer) -> Engine<FastLanguageModeling> {
    let shards = shards_for(trainer.device(), trainer.task.config.model.dropout);
    with_shards(trainer, shards)
}
