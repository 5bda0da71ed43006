//! Our multi-head attention against two independent implementations: PyTorch (a committed fixture, see
//! `fixtures/make_pytorch_fixture.py`) and burn's own `nn::attention::MultiHeadAttention`.

use std::sync::OnceLock;

use attention::{causal_mask, padding_mask, scaled_dot_product_attention};
use burn::module::Param;
use burn::nn::attention::{MhaInput, MultiHeadAttentionConfig as BurnMhaConfig, generate_autoregressive_mask};
use burn::nn::{DropoutConfig, Linear};
use burn::prelude::*;
use burn::tensor::Tolerance;
use common::every_backend;
use multi_head::{MultiHeadAttention, MultiHeadAttentionConfig};
use serde::Deserialize;

#[derive(Deserialize)]
struct Outputs {
    output: Vec<f32>,
    weights: Vec<f32>,
}

#[derive(Deserialize)]
struct Sdpa {
    d_k: usize,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    causal_output: Vec<f32>,
}

#[derive(Deserialize)]
struct Fixture {
    batch: usize,
    t: usize,
    d_model: usize,
    n_heads: usize,
    lengths: Vec<usize>,
    x: Vec<f32>,
    w_q: Vec<f32>,
    w_k: Vec<f32>,
    w_v: Vec<f32>,
    w_o: Vec<f32>,
    b_q: Vec<f32>,
    b_k: Vec<f32>,
    b_v: Vec<f32>,
    b_o: Vec<f32>,
    unmasked: Outputs,
    causal: Outputs,
    padding: Outputs,
    sdpa: Sdpa,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let text = include_str!("../fixtures/pytorch_mha.json");
        serde_json::from_str(text).expect("fixtures/pytorch_mha.json is valid")
    })
}

fn linear(weight: &[f32], bias: &[f32], d: usize, device: &Device) -> Linear {
    Linear {
        weight: Param::from_tensor(Tensor::<1>::from_floats(weight, device).reshape([d, d])),
        bias: Some(Param::from_tensor(Tensor::<1>::from_floats(bias, device))),
    }
}

/// Our module, holding the fixture's weights.
fn ours(f: &Fixture, device: &Device) -> MultiHeadAttention {
    let d = f.d_model;
    MultiHeadAttention {
        w_q: linear(&f.w_q, &f.b_q, d, device),
        w_k: linear(&f.w_k, &f.b_k, d, device),
        w_v: linear(&f.w_v, &f.b_v, d, device),
        w_o: linear(&f.w_o, &f.b_o, d, device),
        dropout: DropoutConfig::new(0.0).init(),
        n_heads: f.n_heads,
    }
}

fn input(f: &Fixture, device: &Device) -> Tensor<3> {
    Tensor::<1>::from_floats(f.x.as_slice(), device).reshape([f.batch, f.t, f.d_model])
}

fn assert_close<const D: usize>(got: Tensor<D>, want: &[f32], tolerance: f32, what: &str) {
    let got = got.to_data().try_to_vec::<f32>().unwrap();
    assert_eq!(got.len(), want.len(), "{what}: wrong number of values");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!((a - b).abs() <= tolerance, "{what}[{i}]: ours {a}, reference {b}");
    }
}

#[test]
fn multi_head_attention_matches_pytorch() {
    let f = fixture();
    for (name, device) in every_backend() {
        let mha = ours(f, &device);
        let cases = [
            (
                "unmasked",
                mha.self_attention(input(f, &device), false, None),
                &f.unmasked,
            ),
            ("causal", mha.self_attention(input(f, &device), true, None), &f.causal),
            (
                "padding",
                mha.self_attention(input(f, &device), false, Some(padding_mask(&f.lengths, f.t, &device))),
                &f.padding,
            ),
        ];
        for (case, got, want) in cases {
            assert_close(got.output, &want.output, 1e-5, &format!("{name}, {case}: output"));
            assert_close(got.weights, &want.weights, 1e-6, &format!("{name}, {case}: weights"));
        }
    }
}

#[test]
fn one_head_matches_pytorch_scaled_dot_product_attention() {
    let s = &fixture().sdpa;
    let (batch, t) = (fixture().batch, fixture().t);
    for (name, device) in every_backend() {
        let tensor = |v: &[f32]| Tensor::<1>::from_floats(v, &device).reshape([batch, t, s.d_k]);
        let allowed = causal_mask(t, &device).unsqueeze::<3>();
        let got = scaled_dot_product_attention(tensor(&s.q), tensor(&s.k), tensor(&s.v), Some(allowed));
        assert_close(got.output, &s.causal_output, 1e-5, &format!("{name}: causal sdpa"));
    }
}

/// burn's module, holding the same weights as ours. Dropout must be 0 to compare outputs.
fn burn_mha(
    ours: &MultiHeadAttention,
    d_model: usize,
    n_heads: usize,
    device: &Device,
) -> burn::nn::attention::MultiHeadAttention {
    let mut theirs = BurnMhaConfig::new(d_model, n_heads).with_dropout(0.0).init(device);
    theirs.query = ours.w_q.clone();
    theirs.key = ours.w_k.clone();
    theirs.value = ours.w_v.clone();
    theirs.output = ours.w_o.clone();
    theirs
}

#[test]
fn multi_head_attention_matches_burns_own() {
    let (batch, t, d_model, n_heads) = (3, 7, 24, 4);
    let lengths = [7, 4, 1];
    for (name, device) in every_backend() {
        device.seed(9);
        let mha = MultiHeadAttentionConfig::new(d_model, n_heads).init(&device);
        let theirs = burn_mha(&mha, d_model, n_heads, &device);
        let x = Tensor::<3>::random(
            [batch, t, d_model],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &device,
        );

        // burn's masks mark what is hidden (true = masked out), ours what is allowed.
        let padding = padding_mask(&lengths, t, &device);
        let hidden_future = generate_autoregressive_mask(batch, t, &device);
        let got = mha.self_attention(x.clone(), true, Some(padding.clone()));
        let want = theirs.forward(
            MhaInput::self_attn(x)
                .mask_pad(padding.bool_not())
                .mask_attn(hidden_future),
        );

        // burn fills masked scores with -10^4 instead of -inf: a masked key keeps a weight of about e^-10000 = 0.
        got.output
            .to_data()
            .assert_approx_eq::<f32>(&want.context.to_data(), Tolerance::absolute(1e-5));
        got.weights
            .to_data()
            .assert_approx_eq::<f32>(&want.weights.to_data(), Tolerance::absolute(1e-6));
        eprintln!("{name}: ours and burn's agree");
    }
}
