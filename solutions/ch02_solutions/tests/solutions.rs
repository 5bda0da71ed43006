use approx::assert_abs_diff_eq;
use attention::{causal_mask, scaled_dot_product_attention};
use burn::prelude::*;
use burn::tensor::{Distribution, Tolerance};
use ch02_solutions::{RelativePositionBias, attention_entropy};
use common::testing::values;
use proptest::prelude::*;

fn random(shape: [usize; 3], device: &Device) -> Tensor<3> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
}

#[test]
fn a_zero_bias_is_plain_attention() {
    for (name, device) in common::every_backend() {
        device.seed(1);
        let (q, k, v) = (
            random([2, 6, 4], &device),
            random([2, 6, 4], &device),
            random([2, 6, 3], &device),
        );
        let allowed = Some(causal_mask(6, &device).unsqueeze::<3>().expand([2, 6, 6]));
        let plain = scaled_dot_product_attention(q.clone(), k.clone(), v.clone(), allowed.clone());
        let biased = RelativePositionBias::zeros(3, &device).attention(q, k, v, allowed);
        biased
            .output
            .to_data()
            .assert_approx_eq::<f32>(&plain.output.to_data(), Tolerance::absolute(1e-6));
        eprintln!("{name}: ok");
    }
}

#[test]
fn the_bias_matrix_depends_only_on_the_clipped_offset() {
    let device = &Device::flex();
    // b_o = o for o in -2..=2.
    let bias = RelativePositionBias {
        table: burn::module::Param::from_tensor(Tensor::from_floats([-2.0, -1.0, 0.0, 1.0, 2.0], device)),
        max_distance: 2,
    };
    let expected = [
        [0.0, 1.0, 2.0, 2.0],
        [-1.0, 0.0, 1.0, 2.0],
        [-2.0, -1.0, 0.0, 1.0],
        [-2.0, -2.0, -1.0, 0.0],
    ];
    assert_eq!(values(bias.matrix(4, 4)), expected.concat());
}

#[test]
fn with_a_bias_attention_knows_the_order() {
    // Chapter 2: without positions, swapping two tokens swaps their outputs. A bias that favours the previous
    // token breaks that symmetry: swap tokens 0 and 1, and the output at position 2 (the same token, among the same
    // set of tokens) changes, because its previous token is now another one.
    let device = &Device::flex();
    let mut table = vec![0.0f32; 5];
    table[2 - 1] = 5.0; // offset -1: look at the previous token
    let bias = RelativePositionBias {
        table: burn::module::Param::from_tensor(Tensor::from_floats(table.as_slice(), device)),
        max_distance: 2,
    };
    let x = Tensor::<2>::from_floats([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], device).unsqueeze::<3>();
    let swapped = Tensor::<2>::from_floats([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], device).unsqueeze::<3>();
    let out = values(bias.attention(x.clone(), x.clone(), x.clone(), None).output);
    let out_swapped = values(bias.attention(swapped.clone(), swapped.clone(), swapped, None).output);
    let change = (out[4] - out_swapped[4]).abs() + (out[5] - out_swapped[5]).abs();
    assert!(change > 0.5, "position 2 moved by {change} only");
    // And position 2 mostly copies position 1 (weight e^5 / (e^5 + e^(..) + ..)).
    let weights = values(bias.attention(x.clone(), x.clone(), x, None).weights);
    assert!(weights[2 * 3 + 1] > 0.9, "row 2: {:?}", &weights[6..9]);
}

#[test]
fn entropy_of_known_distributions() {
    let device = &Device::flex();
    let weights = Tensor::<2>::from_floats(
        [[0.25, 0.25, 0.25, 0.25], [1.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0]],
        device,
    );
    let h = values(attention_entropy(weights));
    assert_abs_diff_eq!(h[0], 4f32.ln(), epsilon = 1e-6);
    assert_abs_diff_eq!(h[1], 0.0, epsilon = 1e-6);
    assert_abs_diff_eq!(h[2], 2f32.ln(), epsilon = 1e-6);
}

proptest! {
    /// 0 <= H <= ln(number of keys) for any attention row.
    #[test]
    fn entropy_is_bounded(data in prop::collection::vec(-5.0f32..5.0, 3 * 7)) {
        let device = &Device::flex();
        let scores = Tensor::<1>::from_floats(data.as_slice(), device).reshape([3, 7]);
        let h = values(attention_entropy(attention::masked_softmax(scores, None, 1)));
        for h in h {
            prop_assert!(h >= -1e-6 && h <= 7f32.ln() + 1e-5);
        }
    }
}
