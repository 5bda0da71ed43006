//! LoRA, low-rank adaptation (Hu et al., 2021): instead of updating a pretrained weight matrix W
//! (d_in × d_out), learn a correction of rank r beside it, W' = W + (α/r)·AB with
//! A: d_in × r and B: r × d_out, and keep W frozen. A matrix of d_in·d_out numbers
//! is adapted by r (d_in + d_out): for a 384 × 384 attention projection at r = 8, 6,144 instead of
//! 147,456.
//!
//! The adapter is attached to the model's own `Linear` weights through burn's reparameterisation hook (a
//! parameter whose value is computed from its stored base): no layer of chapters 3 to 6 changes, and
//! `Module::materialize` merges W + (α/r)·AB into a plain weight when training is done.

use burn::module::{Module, Param, Reparameterization, Reparameterizer};
use burn::prelude::*;
use burn::tensor::Distribution;
use serde::{Deserialize, Serialize};

// ANCHOR: adapter
/// The trainable half of one adapted matrix: ΔW = (α/r)·AB.
#[derive(Module, Debug)]
pub struct LowRank {
    /// A, `[d_in, r]`: 𝒰(-1/√d_in, 1/√d_in) at the start (PEFT's default), so that
    /// xA has about the scale of x's entries whatever the width.
    pub a: Param<Tensor<2>>,
    /// B, `[r, d_out]`: zero at the start, so W' = W and fine-tuning starts from the pretrained function.
    pub b: Param<Tensor<2>>,
    /// α / r: with it, changing r does not change the size of the first updates.
    pub scale: f64,
}

impl LowRank {
    /// (α/r)·AB, `[d_in, d_out]`.
    pub fn delta(&self) -> Tensor<2> {
        self.a.val().matmul(self.b.val()).mul_scalar(self.scale)
    }
}

impl Reparameterization for LowRank {
    const NAME: &'static str = "lora";

    /// The weight the layer computes with: W + (α/r)·AB.
    fn apply<const D: usize>(&self, base: Tensor<D>) -> Tensor<D> {
        let delta = self.delta().reshape(base.shape());
        base + delta
    }
}
// ANCHOR_END: adapter

// ANCHOR: config
/// Where LoRA goes and how big it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoraConfig {
    /// r.
    pub rank: usize,
    /// α.
    pub alpha: f64,
    /// The weights adapted, by the last part of their name: LoRA's paper adapts the attention's W^Q and W^V.
    pub targets: Vec<String>,
}

impl Default for LoraConfig {
    fn default() -> Self {
        LoraConfig {
            rank: 8,
            alpha: 16.0,
            targets: vec!["w_q".into(), "w_v".into()],
        }
    }
}

impl LoraConfig {
    /// `module` with an adapter on every weight matrix whose layer is one of the targets; nothing else changes
    /// (freeze the rest first: see [`crate::model::Classifier::for_regime`]).
    pub fn apply<M: Module>(&self, module: M) -> M {
        module.apply_reparameterization(AttachLowRank { config: self })
    }

    /// The adapters' parameters on `n_matrices` matrices of `d_in x d_out`: n·r·(d_in + d_out).
    pub fn num_params(&self, n_matrices: usize, d_in: usize, d_out: usize) -> usize {
        n_matrices * self.rank * (d_in + d_out)
    }
}

struct AttachLowRank<'a> {
    config: &'a LoraConfig,
}

impl Reparameterizer for AttachLowRank<'_> {
    type Reparam = LowRank;

    fn reparameterize<const D: usize>(
        &mut self,
        path: &str,
        param: Param<Tensor<D>>,
    ) -> (Param<Tensor<D>>, Option<LowRank>) {
        // `path` is the parameter's place in the model: `...layers.3.self_attention.w_q.weight`.
        let layer = path.strip_suffix(".weight").and_then(|p| p.rsplit('.').next());
        if D != 2 || !layer.is_some_and(|l| self.config.targets.iter().any(|t| t == l)) {
            return (param, None);
        }
        let shape = param.lazy_shape();
        let (d_in, d_out, r) = (shape[0], shape[1], self.config.rank);
        let device = param.lazy_device();
        let bound = 1.0 / (d_in as f64).sqrt();
        let adapter = LowRank {
            a: Param::from_tensor(Tensor::random([d_in, r], Distribution::Uniform(-bound, bound), &device)),
            b: Param::from_tensor(Tensor::zeros([r, d_out], &device)),
            scale: self.config.alpha / r as f64,
        };
        (param, Some(adapter))
    }
}
// ANCHOR_END: config
