//! Data parallelism on one machine: a batch split in slices computed at once, one per core, as PyTorch's
//! `DistributedDataParallel` spreads a batch over GPUs.

use burn::module::{ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use common::train::backpropagate;
use rayon::prelude::*;

use crate::dropout::{DropoutKeys, SiteKeys};

// ANCHOR: batch_gradients
/// The batch's loss and its gradient, computed in `shards` slices of the batch at once, one per thread
/// ([`slice_gradients`]). Slice s holds b_s of the batch's B sequences, so the batch's mean loss is
/// L = Σ_s (b_s/B)·L_s. `loss` is the mean loss of a model on inputs `x` with targets `y`.
pub fn batch_gradients<M>(
    model: &M,
    x: Tensor<2, Int>,
    y: Tensor<2, Int>,
    shards: usize,
    loss: impl Fn(&M, Tensor<2, Int>, Tensor<2, Int>) -> Tensor<1> + Send + Sync,
) -> (Tensor<1>, GradientsParams)
where
    M: Module,
{
    let batch = x.dims()[0];
    let slices: Vec<_> = slice_ranges(batch, shards)
        .into_iter()
        .map(|rows| {
            let share = rows.len() as f32 / batch as f32;
            ((x.clone().slice([rows.clone()]), y.clone().slice([rows])), share)
        })
        .collect();
    let device = x.device();
    slice_gradients(model, slices, &device, |model, (x, y)| loss(model, x, y))
}

/// `len` items in `shards` contiguous ranges whose sizes differ by at most one, none empty (fewer ranges when
/// there are fewer items).
pub fn slice_ranges(len: usize, shards: usize) -> Vec<std::ops::Range<usize>> {
    let shards = shards.clamp(1, len.max(1));
    (0..shards)
        .map(|s| (s * len / shards)..((s + 1) * len / shards))
        .collect()
}

/// The loss and gradient of a batch given in `slices`, each with its share w_s of the batch's loss
/// L = Σ_s w_s·L_s, computed at once, one slice per thread. Each slice runs forward and backward on its own copy of
/// the model ([`Module::fork`]: the same parameters, new leaves of a graph of its own, so the threads never share an
/// autodiff graph); the batch's gradient is the sum of the slices' gradients of w_s·L_s: the same step as one pass
/// over the whole batch, up to rounding. The returned loss stays on the device (without its graph).
pub fn slice_gradients<M, S>(
    model: &M,
    mut slices: Vec<(S, f32)>,
    device: &Device,
    loss: impl Fn(&M, S) -> Tensor<1> + Send + Sync,
) -> (Tensor<1>, GradientsParams)
where
    M: Module,
    S: Send,
{
    // One slice needs no copy of the model: it is the whole batch, computed on this thread.
    if slices.len() == 1 {
        let (slice, share) = slices.pop().expect("one slice");
        return backpropagate(model, loss(model, slice).mul_scalar(share));
    }
    let forks: Vec<_> = slices
        .into_iter()
        .map(|(slice, share)| (model.clone().fork(device), slice, share))
        .collect();
    let gradients_of =
        |(model, slice, share): (M, S, f32)| backpropagate(&model, loss(&model, slice).mul_scalar(share));
    let (losses, mut gradients): (Vec<Tensor<1>>, Vec<GradientsParams>) =
        map_in_order(forks, true, gradients_of).into_iter().unzip();
    let mut sum = SumGradients {
        slices: &mut gradients,
        total: GradientsParams::new(),
    };
    model.visit(&mut sum);
    let loss = losses.into_iter().reduce(|a, b| a + b).expect("at least one slice");
    (loss, sum.total)
}
// ANCHOR_END: batch_gradients

/// The loss L = Σ_s w_s·L_s of a batch given in `slices` (slice s's index, the slice, its share w_s), each slice's
/// dropout drawing from its own keys of `keys` ([`DropoutKeys::for_slice`]); `loss` is one slice's loss.
pub fn keyed_slices_loss<M, S>(
    model: &M,
    keys: &DropoutKeys,
    slices: Vec<(usize, S, f32)>,
    loss: impl Fn(&M, S, &mut SiteKeys) -> Tensor<1>,
) -> Tensor<1> {
    let losses = slices
        .into_iter()
        .map(|(s, slice, share)| loss(model, slice, &mut keys.for_slice(s)).mul_scalar(share));
    losses.reduce(|a, b| a + b).expect("a batch has a slice")
}

/// [`keyed_slices_loss`] and its gradient, the slices computed at once ([`slice_gradients`]).
pub fn keyed_slices_gradients<M, S>(
    model: &M,
    keys: &DropoutKeys,
    slices: Vec<(usize, S, f32)>,
    device: &Device,
    loss: impl Fn(&M, S, &mut SiteKeys) -> Tensor<1> + Send + Sync,
) -> (Tensor<1>, GradientsParams)
where
    M: Module,
    S: Send,
{
    let slices = slices
        .into_iter()
        .map(|(s, slice, share)| ((s, slice), share))
        .collect();
    slice_gradients(model, slices, device, |model, (s, slice)| {
        loss(model, slice, &mut keys.for_slice(s))
    })
}

/// How many slices to split a batch in on `device`: [`cores_for`], and one when the model draws its dropout masks
/// from burn's generator, so that such a run stays reproducible (the slices' threads would draw from the device's
/// one generator in whatever order they come to it).
pub fn shards_for(device: &Device, dropout: f64) -> usize {
    if dropout == 0.0 { cores_for(device) } else { 1 }
}

/// One slice per core of the CPU; one on a GPU, which is parallel inside every operation already.
pub fn cores_for(device: &Device) -> usize {
    if *device == Device::flex() {
        rayon::current_num_threads()
    } else {
        1
    }
}

/// `f` applied to each of `items`, results in the items' order; on rayon's threads when `parallel`, otherwise on
/// this one (a GPU device is best left to one thread).
pub fn map_in_order<T: Send, R: Send>(items: Vec<T>, parallel: bool, f: impl Fn(T) -> R + Send + Sync) -> Vec<R> {
    if parallel {
        items.into_par_iter().map(f).collect()
    } else {
        items.into_iter().map(f).collect()
    }
}

/// Adds up, parameter by parameter, the gradients of the slices of a batch.
struct SumGradients<'a> {
    slices: &'a mut [GradientsParams],
    total: GradientsParams,
}

impl ModuleVisitor for SumGradients<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let grads = self.slices.iter_mut().filter_map(|g| g.remove::<D>(param.id));
        if let Some(sum) = grads.reduce(|a, b| a + b) {
            self.total.register(param.id, sum);
        }
    }
}
