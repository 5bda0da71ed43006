use approx::assert_abs_diff_eq;
use burn::nn::generate_sinusoids;
use burn::prelude::*;
use burn::tensor::Tolerance;
use common::every_backend;
use proptest::prelude::*;
use tokens::{InputEmbeddingConfig, LearnedPositionalEmbeddingConfig, sinusoidal_positional_encoding};

fn rows(tensor: Tensor<2>) -> Vec<Vec<f32>> {
    let [_, cols] = tensor.dims();
    tensor
        .to_data()
        .try_to_vec::<f32>()
        .unwrap()
        .chunks(cols)
        .map(<[f32]>::to_vec)
        .collect()
}

fn pe(seq_len: usize, d_model: usize) -> Vec<Vec<f32>> {
    rows(sinusoidal_positional_encoding(seq_len, d_model, &Device::flex()))
}

#[test]
fn pe_matches_values_computed_by_hand() {
    // d = 4: the pairs turn at ω_0 = 1 and ω_1 = 10000^(-2/4) = 0.01 radians per position.
    let pe = pe(3, 4);
    let expected = [
        [0.0, 1.0, 0.0, 1.0],
        [1f64.sin(), 1f64.cos(), 0.01f64.sin(), 0.01f64.cos()],
        [2f64.sin(), 2f64.cos(), 0.02f64.sin(), 0.02f64.cos()],
    ];
    for (row, expected) in pe.iter().zip(expected) {
        for (&got, want) in row.iter().zip(expected) {
            assert_abs_diff_eq!(got, want as f32, epsilon = 1e-6);
        }
    }
    // sin(1) = 0.841471, cos(1) = 0.540302 to six places.
    assert_abs_diff_eq!(pe[1][0], 0.841_471, epsilon = 1e-6);
    assert_abs_diff_eq!(pe[1][1], 0.540_302, epsilon = 1e-6);
}

#[test]
fn pe_matches_burns_own_implementation() {
    let device = Device::flex();
    let ours = sinusoidal_positional_encoding(200, 64, &device);
    let burns = generate_sinusoids(200, 64, 10_000, &device);
    ours.to_data()
        .assert_approx_eq::<f32>(&burns.to_data(), Tolerance::absolute(1e-4));
}

#[test]
#[should_panic(expected = "d_model must be even, got 5")]
fn pe_needs_an_even_width() {
    sinusoidal_positional_encoding(4, 5, &Device::flex());
}

proptest! {
    /// PE(pos + k) is PE(pos) rotated, in each (sin, cos) pair, by the angle k·ω_i, whatever pos is:
    /// [sin(a+b), cos(a+b)] = [[cos b, sin b], [-sin b, cos b]] · [sin a, cos a].
    #[test]
    fn shifting_position_rotates_each_pair(pos in 0usize..100, k in 0usize..100) {
        let d = 16;
        let pe = pe(200, d);
        for i in 0..d / 2 {
            let omega = 10_000f64.powf(-(2.0 * i as f64) / d as f64);
            let (sin_b, cos_b) = ((k as f64 * omega).sin() as f32, (k as f64 * omega).cos() as f32);
            let (s, c) = (pe[pos][2 * i], pe[pos][2 * i + 1]);
            let rotated = (cos_b * s + sin_b * c, -sin_b * s + cos_b * c);
            prop_assert!((pe[pos + k][2 * i] - rotated.0).abs() < 1e-4);
            prop_assert!((pe[pos + k][2 * i + 1] - rotated.1).abs() < 1e-4);
        }
    }

    /// PE(p)·PE(q) = Σ_i cos((p - q) ω_i): it depends only on the distance |p - q|.
    #[test]
    fn dot_product_depends_only_on_distance(p in 0usize..100, q in 0usize..100, shift in 0usize..100) {
        let d = 32;
        let pe = pe(200, d);
        let dot = |a: usize, b: usize| pe[a].iter().zip(&pe[b]).map(|(x, y)| x * y).sum::<f32>();
        let closed_form: f64 = (0..d / 2)
            .map(|i| ((p as f64 - q as f64) * 10_000f64.powf(-(2.0 * i as f64) / d as f64)).cos())
            .sum();
        prop_assert!((dot(p, q) - closed_form as f32).abs() < 1e-3);
        prop_assert!((dot(p, q) - dot(p + shift, q + shift)).abs() < 1e-3);
        prop_assert!((dot(p, q) - dot(q, p)).abs() < 1e-5);
    }
}

#[test]
fn learned_positions_are_rows_of_their_table() {
    let device = Device::flex();
    let positions = LearnedPositionalEmbeddingConfig::new(8, 4).init(&device);
    let table = positions.table.weight.val();
    positions
        .forward(5)
        .to_data()
        .assert_eq(&table.slice([0..5, 0..4]).to_data(), true);
}

#[test]
fn input_embedding_adds_token_and_position_vectors() {
    let device = Device::flex();
    for learned in [true, false] {
        let embed = InputEmbeddingConfig::new(10, 6, 8)
            .with_learned_positions(learned)
            .init(&device);
        let tokens = Tensor::<2, Int>::from_ints([[3, 1, 4], [1, 5, 9]], &device);
        let x = embed.forward(tokens);
        assert_eq!(x.dims(), [2, 3, 6]);
        let token_table = embed.token.weight.val();
        let positions = match &embed.position {
            Some(p) => p.forward(3),
            None => sinusoidal_positional_encoding(3, 6, &device),
        };
        // Batch 1, position 2 holds token 9: x = E[9] + P[2].
        let expected = token_table.slice([9..10, 0..6]) + positions.slice([2..3, 0..6]);
        x.slice([1..2, 2..3, 0..6])
            .reshape([1, 6])
            .to_data()
            .assert_approx_eq::<f32>(&expected.to_data(), Tolerance::default());
    }
}

#[test]
#[should_panic(expected = "sequence of 9 tokens is longer than the context of 8")]
fn a_sequence_longer_than_the_context_is_refused() {
    let device = Device::flex();
    let embed = InputEmbeddingConfig::new(10, 6, 8).init(&device);
    embed.forward(Tensor::<2, Int>::zeros([1, 9], &device));
}

/// The same numbers on the CPU (flex) and the GPU (wgpu) backend.
#[test]
fn cpu_and_wgpu_agree() {
    let backends = every_backend();
    let (_, cpu) = &backends[0];
    let embed = InputEmbeddingConfig::new(50, 32, 64).init(cpu);
    let ids: Vec<i64> = (0..2 * 64).map(|i| (i * 7 % 50) as i64).collect();
    let reference_pe = sinusoidal_positional_encoding(64, 32, cpu).to_data();
    let reference_x = embed
        .forward(Tensor::<1, Int>::from_ints(ids.as_slice(), cpu).reshape([2, 64]))
        .to_data();
    for (name, device) in &backends[1..] {
        eprintln!("checking {name} against flex");
        let pe = sinusoidal_positional_encoding(64, 32, device).to_data();
        pe.assert_approx_eq::<f32>(&reference_pe, Tolerance::absolute(1e-4));
        let moved = embed.clone().to_device(device);
        let x = moved
            .forward(Tensor::<1, Int>::from_ints(ids.as_slice(), device).reshape([2, 64]))
            .to_data();
        x.assert_approx_eq::<f32>(&reference_x, Tolerance::absolute(1e-4));
    }
}
