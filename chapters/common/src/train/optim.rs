//! The optimiser every chapter trains with: AdamW whose weight decay applies to matrices only, and gradients
//! clipped by their global norm.

use burn::module::{Module, ModuleVisitor, Param, ParamGroup};
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::Tensor;

// ANCHOR: adamw
/// AdamW (Loshchilov and Hutter, 2019) configured by `config`, whose decoupled weight decay
/// θ ← θ - ηλθ applies to `model`'s parameters of rank 2 or more (weight matrices,
/// embeddings) and not to those of rank 1 (biases, layer-norm gains and shifts).
///
/// Why: decay pulls a parameter towards 0. For a matrix that is a useful pressure towards small weights; a
/// layer norm's gain pulled towards 0 fights the normalisation it scales, and a bias has no "size" worth
/// regularising. The rule is by rank, as nanoGPT's `configure_optimizers` (`p.dim() >= 2`), not by parameter
/// names, so a new 1-D parameter of any name is left undecayed too. The group holds the parameters' paths in the
/// model (`blocks.0.norm_1.gamma`), so it also fits another model of the same architecture put in `model`'s place
/// (weights loaded from elsewhere, say).
pub fn adamw<M: Module>(config: &AdamWConfig, model: &M) -> ModuleOptimizer {
    let mut vectors = RankOneParameters::default();
    model.visit(&mut vectors);
    let without_decay = config.clone().with_weight_decay(0.0).build();
    ModuleOptimizer::from(config.build()).with_group(ParamGroup::from_paths(vectors.paths), without_decay, None)
}

/// The paths of the float parameters of rank below 2, written as burn's optimizer writes them: the names of the
/// modules from the root, then the parameter's, joined by dots.
#[derive(Default)]
struct RankOneParameters {
    stack: Vec<String>,
    paths: Vec<String>,
}

impl ModuleVisitor for RankOneParameters {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.stack.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.stack.pop();
    }

    fn visit_float<const D: usize>(&mut self, _param: &Param<Tensor<D>>) {
        if D < 2 {
            self.paths.push(self.stack.join("."));
        }
    }
}
// ANCHOR_END: adamw

// ANCHOR: clip
/// Rescales `grads` so that their global L2 norm over all of `model`'s parameters is at most `max_norm`
/// (PyTorch's `clip_grad_norm_`), and returns the norm before clipping. One exploding gradient then shrinks the
/// whole step instead of only its own tensor, so the update keeps its direction.
///
/// Every gradient is multiplied by min(1, c / (‖g‖ + 10⁻⁶)), c = `max_norm`, computed on the
/// device: reading the norm first, to decide whether to clip, would make the program wait for the device in the
/// middle of every step.
pub fn clip_global_norm<M: Module>(
    model: &M,
    mut grads: GradientsParams,
    max_norm: f32,
) -> (GradientsParams, Tensor<1>) {
    struct SquaredNorm<'a> {
        grads: &'a GradientsParams,
        total: Option<Tensor<1>>,
    }
    impl ModuleVisitor for SquaredNorm<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(grad) = self.grads.get::<D>(param.id) {
                let squared = grad.powi_scalar(2).sum();
                self.total = Some(match self.total.take() {
                    Some(total) => total + squared,
                    None => squared,
                });
            }
        }
    }
    struct Scale<'a> {
        grads: &'a mut GradientsParams,
        factor: Tensor<1>,
    }
    impl ModuleVisitor for Scale<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(grad) = self.grads.remove::<D>(param.id) {
                self.grads
                    .register(param.id, grad * self.factor.clone().reshape([1; D]));
            }
        }
    }
    let mut squared_norm = SquaredNorm {
        grads: &grads,
        total: None,
    };
    model.visit(&mut squared_norm);
    let Some(total) = squared_norm.total else {
        let device = model.devices().into_iter().next().unwrap_or_default().inner();
        return (grads, Tensor::zeros([1], &device)); // no gradients: nothing to clip
    };
    let norm = total.sqrt();
    let factor = Tensor::full([1], max_norm, &norm.device()).div(norm.clone().add_scalar(1e-6));
    model.visit(&mut Scale {
        grads: &mut grads,
        factor: factor.clamp_max(1.0),
    });
    (grads, norm)
}
// ANCHOR_END: clip

#[cfg(test)]
mod tests {
    use burn::module::Module;
    use burn::optim::AdamWConfig;
    use burn::tensor::Device;

    use super::*;

    /// Parameters named to fool a rule by names: the matrix is called `bias`, the vector `weight`.
    #[derive(Module, Debug)]
    struct Misnamed {
        bias: Param<Tensor<2>>,
        weight: Param<Tensor<1>>,
        embedding: Param<Tensor<2>>,
    }

    fn misnamed(device: &Device) -> Misnamed {
        Misnamed {
            bias: Param::from_tensor(Tensor::ones([2, 3], device)),
            weight: Param::from_tensor(Tensor::ones([3], device)),
            embedding: Param::from_tensor(Tensor::ones([4, 2], device)),
        }
    }

    /// With zero gradients Adam's update is 0, so what changes is the decay alone: θ (1 - ηλ). The
    /// groups go by path, so a fresh model of the same shape put in the first one's place (as when weights are
    /// loaded from elsewhere) is treated the same.
    #[test]
    fn weight_decay_goes_by_rank_not_by_name() {
        let device = Device::flex().autodiff();
        let (lr, decay) = (0.5, 0.1);
        let mut optimizer = adamw(&AdamWConfig::new().with_weight_decay(decay), &misnamed(&device));
        for model in [misnamed(&device), misnamed(&device)] {
            let zero =
                (model.bias.val().sum() + model.weight.val().sum() + model.embedding.val().sum()).mul_scalar(0.0);
            let grads = GradientsParams::from_grads(zero.backward(), &model);
            let updated = optimizer.step(lr, model, grads);
            let values = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().unwrap();
            let shrunk = 1.0 - lr as f32 * decay;
            for matrix in [values(updated.bias.val()), values(updated.embedding.val())] {
                assert!(matrix.iter().all(|&v| (v - shrunk).abs() < 1e-6), "{matrix:?}");
            }
            let vector = updated.weight.val().into_data().try_to_vec::<f32>().unwrap();
            assert_eq!(vector, [1.0; 3], "a 1-D parameter is not decayed, whatever its name");
        }
    }
}
