//! The initialisation GPT-2 and BERT give a freshly built model: every matrix (embeddings included) drawn from
//! N(0, σ²) with σ = 0.02, biases zeroed, layer norms left at γ = 1, β = 0; GPT-2 also draws the
//! projections that write into the residual stream with a smaller σ, so that the stream's variance does not grow
//! with depth.

use burn::module::{ModuleMapper, Param};
use burn::prelude::*;
use burn::tensor::Distribution;

// ANCHOR: init
/// Re-initialises a module (`model.map(&mut NormalInit::new(0.02))`), telling its parameters apart by their path in
/// the module tree (`blocks.0.attention.w_o.weight`) and their rank.
pub struct NormalInit {
    /// σ of every matrix.
    pub std: f64,
    /// Modules whose matrices are drawn with `residual_std` instead (GPT-2's `w_o` and `linear_2`).
    pub residual: &'static [&'static str],
    pub residual_std: f64,
    path: Vec<String>,
}

impl NormalInit {
    pub fn new(std: f64) -> Self {
        NormalInit {
            std,
            residual: &[],
            residual_std: std,
            path: Vec::new(),
        }
    }

    /// The matrices of the modules called `names` drawn with σ = `std`.
    pub fn with_residual(self, names: &'static [&'static str], std: f64) -> Self {
        NormalInit {
            residual: names,
            residual_std: std,
            ..self
        }
    }
}

impl ModuleMapper for NormalInit {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let residual = self.path.iter().any(|p| self.residual.contains(&p.as_str()));
        let std = if residual { self.residual_std } else { self.std };
        // A new tensor is a new leaf of the autodiff graph: it must ask for gradients as the old one did.
        let replace = |t: Tensor<D>, new: Tensor<D>| new.set_require_grad(t.is_require_grad());
        if self.path.last().is_some_and(|name| name == "bias") {
            param.map(|t| replace(t.clone(), t.zeros_like()))
        } else if D == 2 {
            param.map(|t| {
                let normal = Tensor::random(t.shape(), Distribution::Normal(0.0, std), &t.device());
                replace(t, normal)
            })
        } else {
            param // layer norm gamma (ones) and beta (zeros) are right already
        }
    }
}
// ANCHOR_END: init
