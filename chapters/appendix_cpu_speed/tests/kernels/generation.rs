//! Chapter 5's sampler on the kernels against chapter 5's passes: the products on every core, the cached pass, the
//! head, and the tokens written.

use burn::nn::LinearConfig;
use burn::prelude::*;
use common::testing::{backends, max_abs_diff, values};
use cpu_speed::generation::{FastDecoder, hidden_states_cached, linear_on_cores, lm_head};
use gpt::{GptConfig, KvCache, SamplingConfig, generate};
use transformer::Activation;

fn ids(tokens: &[i64], device: &Device) -> Tensor<2, Int> {
    Tensor::from_data(TensorData::new(tokens.to_vec(), [1, tokens.len()]), device)
}

/// A linear layer's product cut in one block of columns per core is the layer's own, with and without a bias,
/// for one row and for several, in a pool of three threads (uneven blocks of 10 columns) on both backends.
#[test]
fn a_product_on_every_core_is_the_layers_own() {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
    for (name, device) in backends() {
        for bias in [true, false] {
            let linear = LinearConfig::new(7, 10).with_bias(bias).init(device);
            for rows in [1, 4] {
                let x = Tensor::<2>::random([rows, 7], burn::tensor::Distribution::Normal(0.0, 1.0), device);
                let worst = max_abs_diff(
                    &values(linear.forward(x.clone())),
                    &values(pool.install(|| linear_on_cores(&linear, x))),
                );
                assert!(worst < 1e-5, "{name}, bias {bias}, {rows} rows: off by {worst:e}");
            }
        }
    }
}

/// The cached pass on the kernels gives chapter 5's hidden states, fed a prompt of three tokens then one token at a
/// time, with its cache growing the same way, for a GPT-2-like model (tanh GELU, biases) on both backends.
#[test]
fn the_cached_pass_on_the_kernels_is_chapter_5s() {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    for (name, device) in backends() {
        device.seed(4);
        let model = GptConfig::new(17)
            .with_block_size(10)
            .with_n_layer(2)
            .with_n_head(2)
            .with_n_embd(16)
            .with_bias(true)
            .with_activation(Activation::GeluTanh)
            .init(device);
        let (mut chapter_cache, mut kernels_cache) = (KvCache::new(), KvCache::new());
        for (step, tokens) in [&[3i64, 9, 1][..], &[4], &[16], &[0]].into_iter().enumerate() {
            let chapter = values(model.hidden_states_cached(ids(tokens, device), &mut chapter_cache));
            let kernels =
                values(pool.install(|| hidden_states_cached(&model, ids(tokens, device), &mut kernels_cache)));
            let worst = max_abs_diff(&chapter, &kernels);
            assert!(worst < 1e-5, "{name}, step {step}: off by {worst:e}");
            assert_eq!(chapter_cache.len(), kernels_cache.len());
        }
    }
}

/// The head cut in one block of the vocabulary per core gives chapter 5's logits, in a pool of three threads (three
/// uneven blocks of 101 tokens) on both backends.
#[test]
fn the_head_on_every_core_gives_the_chapters_logits() {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
    for (name, device) in backends() {
        let model = GptConfig::new(101)
            .with_block_size(8)
            .with_n_layer(1)
            .with_n_head(2)
            .with_n_embd(16)
            .init(device);
        let h = Tensor::<3>::random([2, 3, 16], burn::tensor::Distribution::Normal(0.0, 1.0), device);
        let chapter = values(model.lm_head(h.clone()));
        let kernels = values(pool.install(|| lm_head(&model, h)));
        let worst = max_abs_diff(&chapter, &kernels);
        assert!(worst < 1e-5, "{name}: the logits differ by up to {worst:e}");
    }
}

/// Chapter 5's sampler on the kernels writes what it writes on the chapter's passes: the same greedy tokens, and
/// the same sampled ones for a seed, with and without the KV cache, past the context (the window slides), for a
/// GPT-2-like model (tanh GELU, biases) on both backends.
#[test]
fn the_sampler_on_the_kernels_writes_the_same_tokens() {
    for (name, device) in backends() {
        device.seed(8);
        let config = GptConfig::new(17)
            .with_block_size(12)
            .with_n_layer(2)
            .with_n_head(2)
            .with_n_embd(16)
            .with_bias(true)
            .with_activation(Activation::GeluTanh);
        let model = config.init(device);
        for use_cache in [false, true] {
            for temperature in [0.0, 1.0] {
                let sampling = SamplingConfig::new()
                    .with_temperature(temperature)
                    .with_seed(3)
                    .with_use_cache(use_cache);
                let chapter = generate(&model, &[1, 2, 3], 20, &sampling, |_| false).unwrap();
                let kernels = generate(&FastDecoder(&model), &[1, 2, 3], 20, &sampling, |_| false).unwrap();
                assert_eq!(chapter, kernels, "{name}, cache {use_cache}, temperature {temperature}");
            }
        }
    }
}
