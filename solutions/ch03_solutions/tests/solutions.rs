use burn::module::Module;
use burn::prelude::*;
use burn::tensor::{Distribution, Tolerance};
use ch03_solutions::{GroupedQueryAttention, GroupedQueryAttentionConfig, parameter_count, repeat_kv};
use multi_head::{MultiHeadAttention, MultiHeadAttentionConfig};
use proptest::prelude::*;

#[test]
fn with_as_many_kv_heads_as_query_heads_it_is_multi_head_attention() {
    for (name, device) in common::every_backend() {
        device.seed(2);
        let mha = MultiHeadAttentionConfig::new(16, 4).init(&device);
        let gqa = GroupedQueryAttention {
            w_q: mha.w_q.clone(),
            w_k: mha.w_k.clone(),
            w_v: mha.w_v.clone(),
            w_o: mha.w_o.clone(),
            n_heads: 4,
            n_kv_heads: 4,
        };
        let x = Tensor::<3>::random([2, 6, 16], Distribution::Normal(0.0, 1.0), &device);
        let want = mha.self_attention(x.clone(), true, None);
        let got = gqa.self_attention(x, true, None);
        got.output
            .to_data()
            .assert_approx_eq::<f32>(&want.output.to_data(), Tolerance::absolute(1e-6));
        eprintln!("{name}: ok");
    }
}

#[test]
fn query_heads_of_one_group_share_keys_and_values() {
    // Two query heads, one key/value head, and the same query weights for both heads: the two heads must then
    // produce identical attention weights, since everything they see is shared.
    let device = &Device::flex();
    device.seed(3);
    let mut gqa = GroupedQueryAttentionConfig::new(8, 2, 1).init(device);
    let w_q = gqa.w_q.weight.val().slice([0..8, 0..4]);
    gqa.w_q.weight = burn::module::Param::from_tensor(Tensor::cat(vec![w_q.clone(), w_q], 1));
    gqa.w_q.bias = None;
    let x = Tensor::<3>::random([1, 5, 8], Distribution::Normal(0.0, 1.0), device);
    let weights = gqa.self_attention(x, false, None).weights; // [1, 2, 5, 5]
    let head = |i: usize| weights.clone().slice([0..1, i..i + 1, 0..5, 0..5]).to_data();
    head(1).assert_approx_eq::<f32>(&head(0), Tolerance::absolute(1e-7));
}

#[test]
fn repeat_kv_puts_each_group_next_to_each_other() {
    let device = &Device::flex();
    let x = Tensor::<1>::from_floats([1.0, 2.0], device).reshape([1, 2, 1, 1]); // two kv heads
    let repeated = repeat_kv(x, 3).to_data().try_to_vec::<f32>().unwrap();
    assert_eq!(repeated, [1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
}

#[test]
fn parameter_counts_match_the_modules() {
    let device = &Device::flex();
    let mha: MultiHeadAttention = MultiHeadAttentionConfig::new(64, 8).init(device);
    assert_eq!(mha.num_params(), parameter_count(64, 8, 8, true));
    assert_eq!(parameter_count(64, 8, 8, true), 4 * 64 * 64 + 4 * 64);
    for (n_kv, bias) in [(1, true), (2, false), (4, true)] {
        let gqa = GroupedQueryAttentionConfig::new(64, 8, n_kv)
            .with_bias(bias)
            .init(device);
        assert_eq!(
            gqa.num_params(),
            parameter_count(64, 8, n_kv, bias),
            "n_kv_heads = {n_kv}"
        );
    }
}

#[test]
#[should_panic(expected = "cannot be shared evenly by 3 key/value heads")]
fn kv_heads_must_divide_query_heads() {
    GroupedQueryAttentionConfig::new(16, 4, 3).init(&Device::flex());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Grouped-query attention is still causal: outputs up to t ignore the tokens after t.
    #[test]
    fn grouped_query_attention_is_causal(seed in 0u64..1000, t in 0usize..6,
                                         x in prop::collection::vec(-2.0f32..2.0, 6 * 8),
                                         noise in prop::collection::vec(-2.0f32..2.0, 6 * 8)) {
        let device = &Device::flex();
        device.seed(seed);
        let gqa = GroupedQueryAttentionConfig::new(8, 4, 2).init(device);
        let changed: Vec<f32> = x.iter().zip(&noise).enumerate().map(|(i, (a, n))| if i / 8 > t { a + n } else { *a }).collect();
        let run = |x: &[f32]| gqa.self_attention(Tensor::<1>::from_floats(x, device).reshape([1, 6, 8]), true, None)
            .output.to_data().try_to_vec::<f32>().unwrap();
        prop_assert_eq!(&run(&x)[..(t + 1) * 8], &run(&changed)[..(t + 1) * 8]);
    }
}
