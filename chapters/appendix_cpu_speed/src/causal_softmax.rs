//! The causal softmax of attention as one fused CPU kernel with a hand-written backward pass (the book's appendix
//! "Making it fast on a CPU" explains why).
//!
//! Chapter 2 computes the attention weights of a causal model in steps: scale the scores, fill the hidden ones with
//! -∞ (negating a boolean mask first), subtract each row's maximum, exponentiate, sum, divide. On burn's CPU
//! backend each step is a pass over the `[batch, h, t, t]` scores and a new tensor, and the backward pass retraces
//! them all, computing e^x a second time. Here one loop does the forward pass row by row, with the mask read
//! from the position itself (query i, at position past + i, sees keys 0..=past + i): no mask tensor at all. The
//! backward pass needs only the output y = softmax(s·x): for each row,
//!
//! ∂L/∂x_j = s·y_j·(∂L/∂y_j - Σ_l ∂L/∂y_l · y_l),
//!
//! since ∂y_l/∂x_j = s·y_l·(δ_lj - y_j); hidden keys have y_j = 0 and get no gradient.
//!
//! As for [`crate::gelu`], burn routes the operation by backend: this kernel on `flex`, chapter 2's steps on `wgpu`,
//! and the backward pass above whenever gradients are tracked.

#[cfg(feature = "wgpu")]
use burn::backend::Cube;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::prelude::*;
use burn::tensor::{DType, Shape, TensorData};

use crate::gelu::{exp_non_positive, like};

// ANCHOR: kernel
/// One row of the forward pass: `y = softmax(scale * x[..seen])`, zeros after it.
fn softmax_row(x: &[f32], y: &mut [f32], scale: f32, seen: usize) {
    let (x, (y, hidden)) = (&x[..seen], y.split_at_mut(seen));
    let max = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    for (y, &x) in y.iter_mut().zip(x) {
        *y = exp_non_positive(scale * (x - max)); // every exponent <= 0
    }
    let inverse_sum = 1.0 / sum(y);
    y.iter_mut().for_each(|y| *y *= inverse_sum);
    hidden.fill(0.0);
}

/// One row of the backward pass: `dx = scale * y * (dy - <dy, y>)`.
fn softmax_backward_row(y: &[f32], dy: &[f32], dx: &mut [f32], scale: f32) {
    let dot = sum_of_products(dy, y);
    for ((dx, &y), &dy) in dx.iter_mut().zip(y).zip(dy) {
        *dx = scale * y * (dy - dot);
    }
}

/// Σ_i a_i with eight partial sums, which the compiler keeps in one vector register: a single running sum would
/// make every addition wait for the one before it.
fn sum(a: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks = a.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        lanes.iter_mut().zip(chunk).for_each(|(lane, &v)| *lane += v);
    }
    lanes.iter().sum::<f32>() + rest
}

/// Σ_i a_i b_i, with eight partial sums as in [`sum`].
fn sum_of_products(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (chunks_a, chunks_b) = (a.chunks_exact(8), b.chunks_exact(8));
    let rest: f32 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(a, b)| a * b)
        .sum();
    for (chunk_a, chunk_b) in chunks_a.zip(chunks_b) {
        for ((lane, &a), &b) in lanes.iter_mut().zip(chunk_a).zip(chunk_b) {
            *lane += a * b;
        }
    }
    lanes.iter().sum::<f32>() + rest
}
// ANCHOR_END: kernel

// ANCHOR: backward
/// The operation as a backend extension (see [`crate::gelu::FusedGelu`]).
// burn's GPU backend (`Cube`) exists only when the `wgpu` feature builds it.
#[cfg_attr(feature = "wgpu", backend_extension(Flex, Cube, Autodiff))]
#[cfg_attr(not(feature = "wgpu"), backend_extension(Flex, Autodiff))]
pub trait FusedCausalSoftmax: Backend {
    /// softmax(s·x) along the last dimension of `x: [.., t_q, t_k]`, where query row i sees only the
    /// keys j ≤ past + i (the others get weight 0).
    fn causal_softmax(x: FloatTensor<Self>, scale: f32, past: usize) -> FloatTensor<Self>;
}

/// What a backend computes for the backward pass: ∂L/∂x from the output y and ∂L/∂y.
pub trait SoftmaxBackward: Backend {
    fn softmax_backward(y: FloatTensor<Self>, grad: FloatTensor<Self>, scale: f32) -> FloatTensor<Self>;
}

impl<B: FusedCausalSoftmax + SoftmaxBackward, C: CheckpointStrategy> FusedCausalSoftmax for Autodiff<B, C> {
    fn causal_softmax(x: FloatTensor<Self>, scale: f32, past: usize) -> FloatTensor<Self> {
        /// The backward pass, with the forward pass's output and the scale as its state.
        #[derive(Debug)]
        struct CausalSoftmaxBackward;

        impl<B: SoftmaxBackward> Backward<B, 1> for CausalSoftmaxBackward {
            type State = (FloatTensor<B>, f32);

            fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
                let (y, scale) = ops.state;
                unary::<B, _>(ops.parents, ops.node, grads, |grad| B::softmax_backward(y, grad, scale));
            }
        }

        match CausalSoftmaxBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let y = B::causal_softmax(x.into_primitive(), scale, past);
                prep.finish((y.clone(), scale), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::causal_softmax(x.into_primitive(), scale, past)),
        }
    }
}
// ANCHOR_END: backward

impl FusedCausalSoftmax for Flex {
    fn causal_softmax(x: FlexTensor, scale: f32, past: usize) -> FlexTensor {
        if x.dtype() != DType::F32 {
            return composed_causal_softmax::<Self>(x, scale, past);
        }
        let x = x.to_contiguous(); // a copy only if x is a strided view
        let shape = x.layout().shape();
        let (t_q, t_k) = (shape[shape.num_dims() - 2], shape[shape.num_dims() - 1]);
        let xs: &[f32] = x.as_slice().expect("a contiguous tensor");
        let mut ys = vec![0.0; xs.len()];
        for (row, (x, y)) in xs.chunks_exact(t_k).zip(ys.chunks_exact_mut(t_k)).enumerate() {
            let seen = (past + row % t_q + 1).min(t_k); // query i = row % t_q sees keys 0..=past + i
            softmax_row(x, y, scale, seen);
        }
        like(&x, ys)
    }
}

impl SoftmaxBackward for Flex {
    fn softmax_backward(y: FlexTensor, grad: FlexTensor, scale: f32) -> FlexTensor {
        if y.dtype() != DType::F32 {
            return composed_softmax_backward::<Self>(y, grad, scale);
        }
        let (y, grad) = (y.to_contiguous(), grad.to_contiguous());
        let shape = y.layout().shape();
        let t_k = shape[shape.num_dims() - 1];
        let ys: &[f32] = y.as_slice().expect("a contiguous tensor");
        let dys: &[f32] = grad.as_slice().expect("a contiguous tensor");
        let mut dxs = vec![0.0; ys.len()];
        let rows = ys
            .chunks_exact(t_k)
            .zip(dys.chunks_exact(t_k))
            .zip(dxs.chunks_exact_mut(t_k));
        for ((y, dy), dx) in rows {
            softmax_backward_row(y, dy, dx, scale);
        }
        like(&y, dxs)
    }
}

#[cfg(feature = "wgpu")]
impl FusedCausalSoftmax for Cube {
    fn causal_softmax(x: FloatTensor<Self>, scale: f32, past: usize) -> FloatTensor<Self> {
        composed_causal_softmax::<Self>(x, scale, past)
    }
}

#[cfg(feature = "wgpu")]
impl SoftmaxBackward for Cube {
    fn softmax_backward(y: FloatTensor<Self>, grad: FloatTensor<Self>, scale: f32) -> FloatTensor<Self> {
        composed_softmax_backward::<Self>(y, grad, scale)
    }
}

/// Chapter 2's steps on any backend: scale, hide the keys after each query's position (by adding -∞ to
/// their scores), burn's softmax.
fn composed_causal_softmax<B: Backend>(x: FloatTensor<B>, scale: f32, past: usize) -> FloatTensor<B> {
    let shape = x.shape();
    let n = shape.num_dims();
    let (t_q, t_k) = (shape[n - 2], shape[n - 1]);
    let hide = |index: usize| index % t_k > past + index / t_k; // key j = index % t_k, query i = index / t_k
    let bias: Vec<f32> = (0..t_q * t_k)
        .map(|index| if hide(index) { f32::NEG_INFINITY } else { 0.0 })
        .collect();
    let mut bias_shape = vec![1; n]; // [1, .., 1, t_q, t_k], broadcast over the leading dimensions
    (bias_shape[n - 2], bias_shape[n - 1]) = (t_q, t_k);
    let bias = TensorData::new(bias, Shape::from(bias_shape)).convert_dtype(x.dtype());
    let bias = B::float_from_data(bias, &x.device());
    B::softmax(B::float_add(B::float_mul_scalar(x, scale.into()), bias), n - 1)
}

/// The backward pass's formula on any backend, one operation at a time.
fn composed_softmax_backward<B: Backend>(y: FloatTensor<B>, grad: FloatTensor<B>, scale: f32) -> FloatTensor<B> {
    let n = y.shape().num_dims();
    let dot = B::float_sum_dim(B::float_mul(grad.clone(), y.clone()), n - 1); // [.., t_q, 1]
    B::float_mul_scalar(B::float_mul(y, B::float_sub(grad, dot)), scale.into())
}

/// The attention weights of a causal model, softmax(s·x) row by row with query i seeing keys
/// 0..=past + i: chapter 2's [`attention::masked_softmax`] of the scaled scores under [`attention::causal_mask`]
/// (shifted by `past` when earlier keys are cached), fused on the CPU. `scores: [.., t_q, t_k]`.
pub fn causal_softmax<const D: usize>(scores: Tensor<D>, scale: f64, past: usize) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as FusedCausalSoftmax>::causal_softmax(
        scores.into_dispatch(),
        scale as f32,
        past,
    ))
}
