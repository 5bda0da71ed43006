//! What `multi_head::position_wise` saves on the CPU backend: a `Linear` applied to `[batch, t, d_in]` as burn's
//! `Linear::forward` does it (one matrix product per sequence) and as one `[batch * t, d_in]` product, forward and
//! backward, for the baby preset's shapes (one data-parallel slice: 6 sequences of 64 tokens).
//!
//! `RAYON_NUM_THREADS=1 cargo run --release -p cpu_speed --example position_wise_speed` prints the best time of three
//! rounds for each, and checks that both give the same outputs.

use std::time::Instant;

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::Distribution;
use multi_head::position_wise;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const REPEATS: usize = 400;

/// Microseconds for one forward and backward pass of `apply`, the best of three rounds of [`REPEATS`].
fn time(x: &Tensor<3>, apply: impl Fn(Tensor<3>) -> Tensor<3>) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let started = Instant::now();
        for _ in 0..REPEATS {
            let grads = apply(x.clone()).sum().backward();
            x.grad(&grads).expect("x requires its gradient").into_data();
        }
        best = best.min(started.elapsed().as_secs_f64() * 1e6 / REPEATS as f64);
    }
    best
}

fn main() {
    let device = Device::flex().autodiff();
    device.seed(0);
    println!("a Linear on [6, 64, d_in], forward and backward (best of 3 x {REPEATS}):");
    for (d_in, d_out, role) in [
        (128, 128, "attention projection"),
        (128, 512, "MLP up"),
        (512, 128, "MLP down"),
    ] {
        let linear: Linear = LinearConfig::new(d_in, d_out).init(&device);
        let x = Tensor::<3>::random([6, 64, d_in], Distribution::Normal(0.0, 1.0), &device).require_grad();
        let per_sequence = linear.forward(x.clone()).into_data();
        let stacked = position_wise(&linear, x.clone()).into_data();
        per_sequence.assert_approx_eq::<f32>(&stacked, burn::tensor::Tolerance::absolute(1e-5));
        let per_sequence = time(&x, |x| linear.forward(x));
        let stacked = time(&x, |x| position_wise(&linear, x));
        println!(
            "{d_in} -> {d_out} ({role}): one product per sequence {per_sequence:.0} us, one for all positions \
             {stacked:.0} us ({:.2}x)",
            per_sequence / stacked
        );
    }
}
