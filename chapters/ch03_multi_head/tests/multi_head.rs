//! Multi-head attention: properties that must hold for any weights and inputs, on every backend.

use attention::{SelfAttention, SelfAttentionConfig, padding_mask};
use burn::module::Param;
use burn::nn::{DropoutConfig, Linear};
use burn::prelude::*;
use burn::tensor::{Distribution, Tolerance};
use common::testing::{assert_input_gradient_matches_finite_differences, backends, values};
use multi_head::{
    MultiHeadAttention, MultiHeadAttentionConfig, MultiHeadOutput, merge_heads, position_wise, split_heads,
};
use proptest::prelude::*;

fn tensor3(data: &[f32], shape: [usize; 3], device: &Device) -> Tensor<3> {
    Tensor::<1>::from_floats(data, device).reshape(shape)
}

fn floats(n: usize) -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(-2.0f32..2.0, n)
}

fn linear(weight: Tensor<2>, bias: Option<Tensor<1>>) -> Linear {
    Linear {
        weight: Param::from_tensor(weight),
        bias: bias.map(Param::from_tensor),
    }
}

#[test]
fn split_heads_gives_each_head_its_own_columns() {
    let device = &Device::flex();
    // Every value distinct, so a value out of place cannot go unnoticed.
    let x = Tensor::<1, Int>::arange(0..2 * 3 * 4, device)
        .float()
        .reshape([2, 3, 4]);
    let heads = split_heads(x.clone(), 2); // [2, 2, 3, 2]
    assert_eq!(heads.dims(), [2, 2, 3, 2]);
    // Head 1 of batch 0 holds columns 2..4 of every position.
    let head = values(heads.clone().slice([0..1, 1..2, 0..3, 0..2]));
    let want = values(x.clone().slice([0..1, 0..3, 2..4]));
    assert_eq!(head, want);
    assert_eq!(values(merge_heads(heads)), values(x));
}

/// `position_wise` is x_{b,t} W + c at every position, summed by hand here, and its gradients (for the input
/// and for the weights) are those of `Linear::forward`, on every backend.
#[test]
fn position_wise_is_the_linear_map_at_every_position() {
    let (batch, t, d_in, d_out) = (3, 5, 4, 6);
    let x: Vec<f32> = (0..batch * t * d_in).map(|i| (i as f32 * 0.37).sin()).collect();
    let w: Vec<f32> = (0..d_in * d_out).map(|i| (i as f32 * 0.53).cos()).collect();
    let c: Vec<f32> = (0..d_out).map(|j| 0.1 * j as f32 - 0.2).collect();
    let want: Vec<f32> = (0..batch * t * d_out)
        .map(|i| {
            let (row, j) = (i / d_out, i % d_out);
            c[j] + (0..d_in).map(|k| x[row * d_in + k] * w[k * d_out + j]).sum::<f32>()
        })
        .collect();
    for (name, device) in backends() {
        let device = &device.clone().autodiff();
        let layer = linear(
            Tensor::<1>::from_floats(w.as_slice(), device).reshape([d_in, d_out]),
            Some(Tensor::from_floats(c.as_slice(), device)),
        );
        let input = tensor3(&x, [batch, t, d_in], device).require_grad();
        let stacked = position_wise(&layer, input.clone());
        assert_eq!(stacked.dims(), [batch, t, d_out]);
        let got = values(stacked.clone().inner());
        for (i, (g, e)) in got.iter().zip(&want).enumerate() {
            assert!((g - e).abs() < 1e-5, "{name}, output {i}: {g} against {e} by hand");
        }
        // A loss that weighs every output differently, so that a gradient in the wrong place shows.
        let weights = Tensor::<1>::from_floats(want.as_slice(), device).reshape([batch, t, d_out]);
        let loss = |y: Tensor<3>| (y * weights.clone()).sum();
        let ours = loss(stacked).backward();
        let burns = loss(layer.forward(input.clone())).backward();
        let tolerance = Tolerance::absolute(1e-5);
        let input_grad = |grads| input.grad(grads).expect("input gradient").to_data();
        input_grad(&ours).assert_approx_eq::<f32>(&input_grad(&burns), tolerance);
        let weight_grad = |grads| layer.weight.grad(grads).expect("weight gradient").to_data();
        weight_grad(&ours).assert_approx_eq::<f32>(&weight_grad(&burns), tolerance);
    }
}

#[test]
#[should_panic(expected = "cannot be split into 3 heads")]
fn heads_must_divide_the_width() {
    MultiHeadAttentionConfig::new(8, 3).init(&Device::flex());
}

/// Head `i` of `mha` as a single-head module: columns `i*d_head..(i+1)*d_head` of `W^Q`, `W^K`, `W^V`.
fn head_as_single_attention(mha: &MultiHeadAttention, i: usize) -> SelfAttention {
    let [d_model, _] = mha.w_q.weight.dims();
    let d_head = d_model / mha.n_heads;
    let columns = i * d_head..(i + 1) * d_head;
    let slice = |l: &Linear| {
        linear(
            l.weight.val().slice([0..d_model, columns.clone()]),
            l.bias.as_ref().map(|b| b.val().slice([columns.clone()])),
        )
    };
    SelfAttention {
        w_q: slice(&mha.w_q),
        w_k: slice(&mha.w_k),
        w_v: slice(&mha.w_v),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Every head's attention weights are a distribution over the keys: non-negative, summing to 1.
    #[test]
    fn attention_rows_are_distributions(seed in 0u64..1000, x in floats(2 * 6 * 8), causal: bool) {
        for (_, device) in backends() {
            device.seed(seed);
            let mha = MultiHeadAttentionConfig::new(8, 2).init(device);
            let weights = values(mha.self_attention(tensor3(&x, [2, 6, 8], device), causal, None).weights);
            for row in weights.chunks(6) {
                prop_assert!(row.iter().all(|&w| w >= 0.0));
                prop_assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            }
        }
    }

    /// Changing the tokens after position t leaves the causal outputs at positions <= t unchanged.
    #[test]
    fn causal_outputs_ignore_the_future(seed in 0u64..1000, t in 0usize..7, x in floats(7 * 8), noise in floats(7 * 8)) {
        for (_, device) in backends() {
            device.seed(seed);
            let mha = MultiHeadAttentionConfig::new(8, 4).init(device);
            let changed: Vec<f32> =
                x.iter().zip(&noise).enumerate().map(|(i, (a, n))| if i / 8 > t { a + n } else { *a }).collect();
            let before = values(mha.self_attention(tensor3(&x, [1, 7, 8], device), true, None).output);
            let after = values(mha.self_attention(tensor3(&changed, [1, 7, 8], device), true, None).output);
            prop_assert_eq!(&before[..(t + 1) * 8], &after[..(t + 1) * 8]);
        }
    }

    /// Without positions, permuting the input tokens permutes the outputs the same way.
    #[test]
    fn attention_is_permutation_equivariant(seed in 0u64..1000, x in floats(5 * 8),
                                            perm in Just((0..5).collect::<Vec<usize>>()).prop_shuffle()) {
        for (_, device) in backends() {
            device.seed(seed);
            let mha = MultiHeadAttentionConfig::new(8, 2).init(device);
            let permuted: Vec<f32> = perm.iter().flat_map(|&p| x[p * 8..(p + 1) * 8].to_vec()).collect();
            let out = values(mha.self_attention(tensor3(&x, [1, 5, 8], device), false, None).output);
            let out_permuted = values(mha.self_attention(tensor3(&permuted, [1, 5, 8], device), false, None).output);
            for (i, &p) in perm.iter().enumerate() {
                for (a, b) in out_permuted[i * 8..(i + 1) * 8].iter().zip(&out[p * 8..(p + 1) * 8]) {
                    prop_assert!((a - b).abs() < 1e-5);
                }
            }
        }
    }

    /// With one head and W^O = I (no bias), multi-head attention is chapter 2's single-head attention.
    #[test]
    fn one_head_with_identity_output_is_single_head_attention(seed in 0u64..1000, x in floats(2 * 6 * 8), causal: bool) {
        for (_, device) in backends() {
            device.seed(seed);
            let single = SelfAttentionConfig::new(8, 8, 8).with_bias(true).init(device);
            let mha = MultiHeadAttention {
                w_q: single.w_q.clone(),
                w_k: single.w_k.clone(),
                w_v: single.w_v.clone(),
                w_o: linear(Tensor::eye(8, device), None),
                dropout: DropoutConfig::new(0.0).init(),
                n_heads: 1,
            };
            let x = tensor3(&x, [2, 6, 8], device);
            let padding = padding_mask(&[6, 4], 6, device);
            let want = single.forward(x.clone(), causal, Some(padding.clone()));
            let got = mha.self_attention(x, causal, Some(padding));
            got.output.to_data().assert_approx_eq::<f32>(&want.output.to_data(), Tolerance::absolute(1e-5));
            got.weights.reshape([2, 6, 6]).to_data().assert_approx_eq::<f32>(&want.weights.to_data(), Tolerance::absolute(1e-6));
        }
    }
}

#[test]
fn every_head_is_a_single_head_attention_on_its_slice() {
    for (name, device) in backends() {
        device.seed(4);
        let (d_model, n_heads, t) = (12, 3, 5);
        let mha = MultiHeadAttentionConfig::new(d_model, n_heads).init(device);
        let x = Tensor::<3>::random([2, t, d_model], Distribution::Normal(0.0, 1.0), device);
        let all = mha.self_attention(x.clone(), true, None);
        // Concat(head_1, ..., head_h) W^O, built head by head.
        let heads: Vec<Tensor<3>> = (0..n_heads)
            .map(|i| {
                let single = head_as_single_attention(&mha, i).forward(x.clone(), true, None);
                let weights = all
                    .weights
                    .clone()
                    .slice([0..2, i..i + 1, 0..t, 0..t])
                    .reshape([2, t, t]);
                weights
                    .to_data()
                    .assert_approx_eq::<f32>(&single.weights.to_data(), Tolerance::absolute(1e-6));
                single.output
            })
            .collect();
        let concatenated = mha.w_o.forward(Tensor::cat(heads, 2));
        concatenated
            .to_data()
            .assert_approx_eq::<f32>(&all.output.to_data(), Tolerance::absolute(1e-5));
        eprintln!("{name}: each head checked");
    }
}

#[test]
fn gradients_match_central_finite_differences() {
    for (name, device) in backends() {
        let device = &device.clone().autodiff();
        device.seed(5);
        let mha = MultiHeadAttentionConfig::new(6, 2).init(device);
        assert_input_gradient_matches_finite_differences(
            device,
            [1, 4, 6],
            |x| mha.self_attention(x, true, None).output,
            name,
        );
    }
}

#[test]
fn cpu_and_wgpu_agree() {
    let (_, cpu) = &backends()[0];
    cpu.seed(12);
    let mha = MultiHeadAttentionConfig::new(32, 4).init(cpu);
    let x: Vec<f32> = (0..2 * 16 * 32).map(|i| (i as f32 * 0.07).sin()).collect();
    let lengths = [16, 9];
    let run = |mha: &MultiHeadAttention, device: &Device| {
        mha.self_attention(
            tensor3(&x, [2, 16, 32], device),
            true,
            Some(padding_mask(&lengths, 16, device)),
        )
    };
    let reference = run(&mha, cpu);
    for (name, device) in &backends()[1..] {
        eprintln!("checking {name} against flex");
        let got = run(&mha.clone().to_device(device), device);
        got.output
            .to_data()
            .assert_approx_eq::<f32>(&reference.output.to_data(), Tolerance::absolute(1e-4));
        got.weights
            .to_data()
            .assert_approx_eq::<f32>(&reference.weights.to_data(), Tolerance::absolute(1e-5));
    }
}

/// One head with W^V = W^O = I attending over x = I: the output is then the (dropped-out) weights themselves,
/// Dropout(A)·I, so each output entry can be checked against the weight it came from.
fn weights_as_output(p: f64, device: &Device) -> MultiHeadOutput {
    let t = 8;
    device.seed(3);
    let mut mha = MultiHeadAttentionConfig::new(t, 1)
        .with_bias(false)
        .with_dropout(p)
        .init(device);
    mha.w_v = linear(Tensor::eye(t, device), None);
    mha.w_o = linear(Tensor::eye(t, device), None);
    let x = Tensor::<2>::eye(t, device).unsqueeze::<3>();
    mha.self_attention(x, true, None)
}

#[test]
fn attention_dropout_zeroes_weights_and_rescales_the_rest_while_training() {
    let p = 0.5;
    for (name, device) in backends() {
        let out = weights_as_output(p, &device.clone().autodiff());
        let (weights, dropped) = (values(out.weights), values(out.output));
        let (mut zeroed, mut kept) = (0, 0);
        for (w, y) in weights.iter().zip(&dropped) {
            if *w == 0.0 {
                continue; // masked (future) keys
            }
            if *y == 0.0 {
                zeroed += 1;
            } else {
                assert!(
                    (y - w / (1.0 - p as f32)).abs() < 1e-6,
                    "{name}: kept weight {w} became {y}, not {w} / (1 - p)"
                );
                kept += 1;
            }
        }
        // 36 weights under the causal mask, each dropped with probability 1/2: all or none has probability 2^-35.
        assert_eq!(zeroed + kept, 36, "{name}");
        assert!(zeroed > 0 && kept > 0, "{name}: {zeroed} dropped, {kept} kept");
    }
}

#[test]
fn attention_dropout_is_off_outside_training() {
    for (name, device) in backends() {
        let out = weights_as_output(0.5, device); // no autodiff: inference
        assert_eq!(values(out.output), values(out.weights), "{name}");
    }
}
