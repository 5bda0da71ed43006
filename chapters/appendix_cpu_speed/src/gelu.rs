//! GELU as one fused CPU kernel with a hand-written backward pass (the book's appendix "Making it fast on a CPU"
//! explains why), in both of its forms: the exact one of chapters 4 to 7 and GPT-2's tanh approximation.
//!
//! burn's CPU backend evaluates GELU(x) = x·Φ(x), with Φ(x) = ½(1 + erf(x/√2)), one element at a time through a
//! scalar `erf` function, and evaluates `erf` again in the backward pass; the tanh form is eight tensor
//! operations, each a pass over memory, one of them a scalar `powf`. Here one loop computes, for every element, both the value
//! and the derivative
//!
//! GELU'(x) = Φ(x) + x·φ(x), where φ(x) = e^(-x²/2)/√(2π),
//!
//! (or the tanh form's, below) with an `erf` or `tanh` the compiler turns into vector instructions, and keeps the
//! derivative for the backward pass, which is then a single product: ∂L/∂x = ∂L/∂y · GELU'(x).
//!
//! burn routes the operation to a kernel by backend: this one on `flex`, burn's own operations on `wgpu` (one GPU
//! kernel for the exact form, one operation at a time for the tanh form), and our backward pass whenever gradients
//! are tracked.

#[cfg(feature = "wgpu")]
use burn::backend::Cube;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::flex::FlexTensor;
#[cfg(feature = "wgpu")]
use burn::backend::ops::ActivationOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::prelude::*;
use burn::tensor::{DType, TensorData};

// ANCHOR: kernel
/// (GELU(x), GELU'(x)) for one number, written so that a loop over a slice compiles to
/// vector instructions: no branches and no calls, only arithmetic.
///
/// erf(z) ≈ 1 - (a_1 t + a_2 t² + a_3 t³ + a_4 t⁴ + a_5 t⁵)·e^(-z²) with t = 1/(1 + p|z|)
/// for z ≥ 0 (Abramowitz and Stegun 7.1.26, error below 1.5 × 10⁻⁷) and erf(-z) = -erf(z).
/// With z = x/√2, its e^(-z²) is e^(-x²/2), which the derivative needs too.
#[inline(always)]
pub fn gelu_and_derivative(x: f32) -> (f32, f32) {
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [0.254_829_6, -0.284_496_74, 1.421_413_8, -1.453_152, 1.061_405_4];
    let z = x * std::f32::consts::FRAC_1_SQRT_2;
    let t = 1.0 / (1.0 + P * z.abs());
    let polynomial = t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * A[4]))));
    let gaussian = exp_non_positive(-z * z); // e^{-x^2/2}
    let erf = (1.0 - polynomial * gaussian).copysign(z);
    let cdf = 0.5 * (1.0 + erf);
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    (x * cdf, cdf + x * INV_SQRT_2PI * gaussian)
}

/// e^y for y ≤ 0, branch-free: y = n ln 2 + r with n an integer and |r| ≤ ½ ln 2, so
/// e^y = 2^n · e^r; 2^n is written straight into the float's exponent bits and e^r is its Taylor series to
/// degree 7, whose remainder (|r|⁸/8! < 6 × 10⁻⁹) is below `f32`'s precision.
#[inline(always)]
pub(crate) fn exp_non_positive(y: f32) -> f32 {
    // Below -87, e^y is under f32's smallest normal number: 0 for our purposes.
    let y = y.max(-87.0);
    // Adding and subtracting 1.5 * 2^23 rounds to the nearest integer (the float has no bits left for a fraction).
    const ROUND: f32 = 12_582_912.0;
    let n = (y * std::f32::consts::LOG2_E + ROUND) - ROUND;
    // ln 2 in two parts, so that n * LN2_HIGH is exact and r keeps its precision.
    const LN2_HIGH: f32 = 0.693_145_75;
    const LN2_LOW: f32 = 1.428_606_8e-6;
    let r = y - n * LN2_HIGH - n * LN2_LOW;
    let mut e_r = 1.0 / 5040.0;
    for inverse_factorial in [1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
        e_r = e_r * r + inverse_factorial;
    }
    let two_to_n = f32::from_bits(((n as i32 + 127) as u32) << 23);
    e_r * two_to_n
}

/// √(2/π) and the cubic's coefficient in GPT-2's GELU.
const SQRT_2_OVER_PI: f32 = 0.797_884_6;
const GELU_TANH_A: f32 = 0.044_715;

/// (GELU(x), GELU'(x)) in GPT-2's tanh form (PyTorch's `approximate="tanh"`, Hugging Face's `gelu_new`),
/// branch-free like [`gelu_and_derivative`]:
///
/// GELU(x) ≈ ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³),
/// GELU'(x) = ½(1 + tanh u) + ½x(1 - tanh² u)·√(2/π)(1 + 3·0.044715x²),
///
/// with tanh|u| = (1 - e^(-2|u|))/(1 + e^(-2|u|)) and the sign of u put back (e^(-2|u|) ≤ 1 cannot overflow), and
/// 1 - tanh² u = 4e^(-2|u|)/(1 + e^(-2|u|))².
#[inline(always)]
pub fn gelu_tanh_and_derivative(x: f32) -> (f32, f32) {
    const A: f32 = GELU_TANH_A;
    // tanh u is ±1 in f32 once |u| > 9.1 (|x| > 5.2): capping |x| at 100 where x² is used changes no value, and
    // keeps the slope's x·x² finite (0 · ∞ would be NaN).
    let x_capped = x.clamp(-100.0, 100.0);
    let x_squared = x_capped * x_capped;
    let u = SQRT_2_OVER_PI * x * (1.0 + A * x_squared);
    let e = exp_non_positive(-2.0 * u.abs()); // e^(-2|u|)
    let tanh = ((1.0 - e) / (1.0 + e)).copysign(u);
    // 1 - tanh² u = 4e/(1 + e)², from e itself: 1 - tanh² from a rounded tanh would cancel to 0 too early.
    let sech_squared = 4.0 * e / ((1.0 + e) * (1.0 + e));
    let half_one_plus_tanh = 0.5 * (1.0 + tanh);
    let du_dx = SQRT_2_OVER_PI * (1.0 + 3.0 * A * x_squared);
    (
        x * half_one_plus_tanh,
        half_one_plus_tanh + 0.5 * x_capped * sech_squared * du_dx,
    )
}

/// The two forms of GELU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeluForm {
    /// x·Φ(x) ([`gelu_and_derivative`]).
    Exact,
    /// GPT-2's tanh approximation ([`gelu_tanh_and_derivative`]).
    Tanh,
}

impl GeluForm {
    /// The loop of the forward pass: the value of every element, and its derivative when `derivatives` is given.
    /// Each form gets a loop of its own, so that the compiler vectorises the kernel inlined into it.
    fn apply(self, xs: &[f32], ys: &mut [f32], derivatives: Option<&mut [f32]>) {
        match self {
            GeluForm::Exact => apply_kernel(gelu_and_derivative, xs, ys, derivatives),
            GeluForm::Tanh => apply_kernel(gelu_tanh_and_derivative, xs, ys, derivatives),
        }
    }
}

#[inline(always)]
fn apply_kernel(kernel: impl Fn(f32) -> (f32, f32), xs: &[f32], ys: &mut [f32], derivatives: Option<&mut [f32]>) {
    match derivatives {
        Some(derivatives) => {
            for ((y, derivative), &x) in ys.iter_mut().zip(derivatives.iter_mut()).zip(xs) {
                (*y, *derivative) = kernel(x);
            }
        }
        None => {
            for (y, &x) in ys.iter_mut().zip(xs) {
                *y = kernel(x).0;
            }
        }
    }
}
// ANCHOR_END: kernel

// ANCHOR: backward
/// The operation as a backend extension: a backend-independent signature that burn dispatches to the kernel of the
/// backend a tensor lives on.
// burn's GPU backend (`Cube`) exists only when the `wgpu` feature builds it.
#[cfg_attr(feature = "wgpu", backend_extension(Flex, Cube, Autodiff))]
#[cfg_attr(not(feature = "wgpu"), backend_extension(Flex, Autodiff))]
pub trait FusedGelu: Backend {
    /// GELU(x) of the given form, element-wise.
    fn fused_gelu(x: FloatTensor<Self>, form: GeluForm) -> FloatTensor<Self>;
}

/// What a backend computes for the forward pass of a tracked GELU: the output and the derivative the backward pass
/// will need, in one call.
pub trait GeluWithDerivative: Backend {
    fn gelu_with_derivative(x: FloatTensor<Self>, form: GeluForm) -> (FloatTensor<Self>, FloatTensor<Self>);
}

impl<B: FusedGelu + GeluWithDerivative, C: CheckpointStrategy> FusedGelu for Autodiff<B, C> {
    fn fused_gelu(x: FloatTensor<Self>, form: GeluForm) -> FloatTensor<Self> {
        /// The backward pass: ∂L/∂x = ∂L/∂y ⊙ GELU'(x), with the
        /// derivative saved by the forward pass as its state.
        #[derive(Debug)]
        struct GeluBackward;

        impl<B: Backend> Backward<B, 1> for GeluBackward {
            type State = FloatTensor<B>;

            fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
                let derivative = ops.state;
                unary::<B, _>(ops.parents, ops.node, grads, |grad| B::float_mul(grad, derivative));
            }
        }

        // "Compute bound": a checkpointing strategy keeps the saved derivative instead of recomputing the kernel.
        match GeluBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (y, derivative) = B::gelu_with_derivative(x.into_primitive(), form);
                prep.finish(derivative, y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_gelu(x.into_primitive(), form)),
        }
    }
}
// ANCHOR_END: backward

impl FusedGelu for Flex {
    fn fused_gelu(x: FlexTensor, form: GeluForm) -> FlexTensor {
        if x.dtype() != DType::F32 {
            return composed::<Self>(x, form).0; // f64, f16, bf16: burn's own operations
        }
        let x = x.to_contiguous(); // a copy only if x is a strided view
        let xs: &[f32] = x.as_slice().expect("a contiguous tensor");
        let mut ys = vec![0.0; xs.len()];
        form.apply(xs, &mut ys, None);
        like(&x, ys)
    }
}

impl GeluWithDerivative for Flex {
    fn gelu_with_derivative(x: FlexTensor, form: GeluForm) -> (FlexTensor, FlexTensor) {
        if x.dtype() != DType::F32 {
            return composed::<Self>(x, form);
        }
        let x = x.to_contiguous();
        let xs: &[f32] = x.as_slice().expect("a contiguous tensor");
        let (mut ys, mut derivatives) = (vec![0.0; xs.len()], vec![0.0; xs.len()]);
        form.apply(xs, &mut ys, Some(&mut derivatives));
        (like(&x, ys), like(&x, derivatives))
    }
}

/// A tensor of `x`'s shape holding `values`.
pub(crate) fn like(x: &FlexTensor, values: Vec<f32>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, x.layout().shape().clone()))
}

#[cfg(feature = "wgpu")]
impl FusedGelu for Cube {
    fn fused_gelu(x: FloatTensor<Self>, form: GeluForm) -> FloatTensor<Self> {
        match form {
            GeluForm::Exact => Self::gelu(x),
            GeluForm::Tanh => composed::<Self>(x, form).0,
        }
    }
}

#[cfg(feature = "wgpu")]
impl GeluWithDerivative for Cube {
    fn gelu_with_derivative(x: FloatTensor<Self>, form: GeluForm) -> (FloatTensor<Self>, FloatTensor<Self>) {
        composed::<Self>(x, form)
    }
}

/// GELU and its derivative from burn's own operations. Exact: its `gelu`, and its `gelu_backward` applied to a
/// gradient of ones. Tanh: the formulas of [`gelu_tanh_and_derivative`] one operation at a time.
fn composed<B: Backend>(x: FloatTensor<B>, form: GeluForm) -> (FloatTensor<B>, FloatTensor<B>) {
    match form {
        GeluForm::Exact => {
            let ones = B::float_ones(x.shape(), &x.device(), x.dtype().into());
            (B::gelu(x.clone()), B::gelu_backward(x, ones))
        }
        GeluForm::Tanh => {
            let scaled = |t, s: f32| B::float_mul_scalar(t, s.into());
            let plus_one = |t| B::float_add_scalar(t, 1f32.into());
            let x_squared = B::float_mul(x.clone(), x.clone());
            let u = scaled(
                B::float_mul(x.clone(), plus_one(scaled(x_squared.clone(), GELU_TANH_A))),
                SQRT_2_OVER_PI,
            );
            let tanh = B::float_tanh(u);
            let half_one_plus_tanh = scaled(plus_one(tanh.clone()), 0.5);
            let one_minus_tanh_squared = plus_one(B::float_neg(B::float_mul(tanh.clone(), tanh)));
            let du_dx = scaled(plus_one(scaled(x_squared, 3.0 * GELU_TANH_A)), SQRT_2_OVER_PI);
            let slope_term = B::float_mul(scaled(x.clone(), 0.5), B::float_mul(one_minus_tanh_squared, du_dx));
            let y = B::float_mul(x, half_one_plus_tanh.clone());
            (y, B::float_add(half_one_plus_tanh, slope_term))
        }
    }
}

/// GELU(x) = x·Φ(x) element-wise, as [`burn::tensor::activation::gelu`] computes it (to within
/// 4 × 10⁻⁷ · (1 + |GELU(x)|)), with the fused kernel on the CPU.
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as FusedGelu>::fused_gelu(x.into_dispatch(), GeluForm::Exact))
}

/// GPT-2's GELU, ½x(1 + tanh(√(2/π)(x + 0.044715x³))) element-wise, as
/// [`burn::tensor::activation::gelu_approximate`] computes it, with the fused kernel on the CPU.
pub fn gelu_tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(<Dispatch as FusedGelu>::fused_gelu(x.into_dispatch(), GeluForm::Tanh))
}
