//! Worked answers to chapter 5's exercises. Each one is tested in `tests/`.
//!
//! 1. [`rotary_embedding`]: rotary position embeddings (RoPE, Su et al. 2021), the positions of LLaMA and most
//!    models since: instead of adding P_t to the input, rotate each query and key by an angle proportional to
//!    its position, so that q_m · k_n depends on m - n only.
//! 2. [`bigram_loss`]: the loss of the best model that looks at one previous character only, the baseline a GPT
//!    has to beat.
//! 3. [`decay_everything`]: AdamW with weight decay on every parameter, for the weight-decay ablation.
//!
//! 4. *Why does a KV cache stop helping once the context is full, in this GPT?* Its positions are learned and
//!    absolute: token t's key was computed with P_t added to its input. When the window slides by one, every
//!    token moves to a new position, so every key and value changes and all of them must be recomputed. With
//!    RoPE (exercise 1) the score depends only on the distance between query and key, so the cached keys stay
//!    valid when the window slides and the cache keeps paying off (dropping the oldest entry is enough).
//! 5. *What does weight decay on the layer-norm gains do?* It pulls γ towards 0, i.e. it shrinks the output
//!    of every normalisation, which the following weights then have to undo by growing: the decay fights the
//!    architecture instead of regularising it. Expect the three runs to differ little on the baby configuration:
//!    after 2,000 steps a 0.8M-parameter model is not overfitting yet (its train and validation losses are within
//!    0.2), and regularisation matters most once it does.

use burn::optim::{AdamWConfig, ModuleOptimizer};
use burn::prelude::*;
use gpt::TrainingConfig;

// ANCHOR: rope
/// Exercise 1. Rotates each pair of features (x_{2i}, x_{2i+1}) of `x: [batch, heads, t, d_head]` at position
/// p = `start` + its index by the angle pθ_i, θ_i = 10000^(-2i/d):
/// (x_{2i}, x_{2i+1}) ↦ (x_{2i} cos pθ_i - x_{2i+1} sin pθ_i, x_{2i} sin pθ_i + x_{2i+1} cos pθ_i).
/// Applied to queries and keys (not values) before their dot product.
pub fn rotary_embedding(x: Tensor<4>, start: usize) -> Tensor<4> {
    let [batch, heads, t, d] = x.dims();
    assert!(
        d.is_multiple_of(2),
        "RoPE rotates pairs of features: d_head = {d} must be even"
    );
    let half = d / 2;
    let angles: Vec<f32> = (0..t)
        .flat_map(|i| {
            let p = (start + i) as f32;
            (0..half).map(move |j| p * 10000f32.powf(-2.0 * j as f32 / d as f32))
        })
        .collect();
    let device = x.device();
    let table = |f: fn(f32) -> f32| {
        let values: Vec<f32> = angles.iter().map(|&a| f(a)).collect();
        Tensor::<2>::from_data(TensorData::new(values, [t, half]), &device).reshape([1, 1, t, half])
    };
    let (cos, sin) = (table(f32::cos), table(f32::sin));
    let pairs = x.reshape([batch, heads, t, half, 2]);
    let even = pairs.clone().slice_dim(4, 0..1).reshape([batch, heads, t, half]);
    let odd = pairs.slice_dim(4, 1..2).reshape([batch, heads, t, half]);
    let rotated_even = even.clone() * cos.clone() - odd.clone() * sin.clone();
    let rotated_odd = even * sin + odd * cos;
    Tensor::stack::<5>(vec![rotated_even, rotated_odd], 4).reshape([batch, heads, t, d])
}
// ANCHOR_END: rope

// ANCHOR: bigram
/// Exercise 2. The mean of -ln p(x_{t+1} | x_t) over `eval`, where p is estimated from `train` by counting
/// pairs with add-α smoothing: p(b | a) = (n_ab + α) / (n_a + α V).
pub fn bigram_loss(train: &[u32], eval: &[u32], vocab_size: usize, alpha: f64) -> f64 {
    let mut counts = vec![0u64; vocab_size * vocab_size];
    for pair in train.windows(2) {
        counts[pair[0] as usize * vocab_size + pair[1] as usize] += 1;
    }
    let totals: Vec<u64> = counts.chunks(vocab_size).map(|row| row.iter().sum()).collect();
    let nll: f64 = eval
        .windows(2)
        .map(|pair| {
            let (a, b) = (pair[0] as usize, pair[1] as usize);
            let p = (counts[a * vocab_size + b] as f64 + alpha) / (totals[a] as f64 + alpha * vocab_size as f64);
            -p.ln()
        })
        .sum();
    nll / eval.len().saturating_sub(1).max(1) as f64
}
// ANCHOR_END: bigram

/// Exercise 3. The chapter's AdamW, but decaying every parameter, layer-norm gains and biases included (what
/// `AdamWConfig::init()` does by default).
pub fn decay_everything(config: &TrainingConfig) -> ModuleOptimizer {
    AdamWConfig::new()
        .with_beta_1(config.beta1 as f32)
        .with_beta_2(config.beta2 as f32)
        .with_epsilon(1e-8)
        .with_weight_decay(config.weight_decay as f32)
        .init()
}
