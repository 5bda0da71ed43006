//! The GPT of [`crate::model`] on the appendix's CPU kernels (crate `cpu_speed`, the book's appendix "Making it
//! fast on a CPU"): the same blocks with the attention's causal softmax and the MLP's GELU each computed by one
//! fused kernel, and each batch split over the CPU's cores. The same numbers up to rounding, which the tests check
//! on both backends; the command-line tool trains this way.

use burn::prelude::*;
use cpu_speed::attention::causal_self_attention;
use cpu_speed::data_parallel::shards_for;
use cpu_speed::gelu::gelu;

use transformer::Activation;

use crate::model::{Block, Gpt};
use crate::training::{RunConfig, Trainer};

// ANCHOR: fast
/// [`Gpt::forward`] with every block computed by [`block`].
pub fn forward(model: &Gpt, tokens: Tensor<2, Int>) -> Tensor<3> {
    model.forward_with(tokens, block)
}

/// [`Block::forward`] with the fused causal self-attention and, for the exact GELU, the fused GELU (the kernel
/// computes that one only; another activation runs as burn's).
pub fn block(block: &Block, x: Tensor<3>) -> Tensor<3> {
    let x = block
        .around_attention
        .forward(x, |h| causal_self_attention(&block.attention, h));
    block.around_mlp.forward(x, |h| match block.mlp.activation {
        Activation::Gelu => block.mlp.forward_with(h, gelu),
        _ => block.mlp.forward(h),
    })
}
// ANCHOR_END: fast

/// `trainer` computing with [`forward`], its batches split in as many slices as `device` takes at once
/// ([`shards_for`]: one per core on the CPU, one on a GPU or with dropout).
pub fn trainer(trainer: Trainer, device: &Device) -> Trainer {
    let shards = shards_for(device, trainer.config.model.dropout);
    trainer.with_forward(forward).with_shards(shards)
}

/// A fresh [`Trainer`] for `config` on `device` (with autodiff), set up as [`trainer`] does.
pub fn new_trainer(config: RunConfig, device: &Device) -> Trainer {
    trainer(Trainer::new(config, device), device)
}
