//! Chapter 5's model with GPT-2's weights against `transformers`' `GPT2LMHeadModel`, on the two tiny random
//! folders `fixtures/make_hf_fixture.py` wrote (different widths, heads, depths and contexts; `a` with GPT-2's
//! tanh GELU, `b` with the exact one): logits, greedy generation with and without the KV cache, perplexity by a
//! sliding window, the folders' tokenizers; then folders that do not fit, each an error naming the problem.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use common::testing::{backends, max_abs_diff, values};
use gpt::{SamplingConfig, generate};
use gpt2::{Gpt2Config, Gpt2Error, Gpt2Tokenizer, load_gpt2, sliding_window_perplexity};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    folder: String,
    texts: Vec<String>,
    ids: Vec<Vec<u32>>,
    sequences: Vec<Vec<i64>>,
    logits: Vec<f32>,
    prompt: Vec<u32>,
    greedy: Vec<u32>,
    text_ids: Vec<u32>,
    loss_first_window: f64,
    stride: usize,
    sliding_window_nll: f64,
    sliding_window_tokens: usize,
}

fn fixtures() -> Vec<Fixture> {
    let all: std::collections::BTreeMap<String, Fixture> =
        serde_json::from_str(include_str!("../../fixtures/tiny_gpt2.json")).expect("the fixture is valid JSON");
    all.into_values().collect()
}

fn folder(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

#[test]
fn logits_equal_transformers_on_every_backend() {
    for fixture in fixtures() {
        for (backend, device) in backends() {
            let (_, model) = load_gpt2(&folder(&fixture.folder), device).unwrap();
            let rows = fixture.sequences.len();
            let flat: Vec<i64> = fixture.sequences.concat();
            let tokens = Tensor::<1, Int>::from_ints(flat.as_slice(), device).reshape([rows, flat.len() / rows]);
            let diff = max_abs_diff(&values(model.forward(tokens)), &fixture.logits);
            assert!(
                diff < 1e-4,
                "{} on {backend}: logits differ from transformers' by {diff}",
                fixture.folder
            );
        }
    }
}

#[test]
fn greedy_generation_equals_transformers_with_and_without_the_cache() {
    for fixture in fixtures() {
        for (backend, device) in backends() {
            let (_, model) = load_gpt2(&folder(&fixture.folder), device).unwrap();
            for use_cache in [true, false] {
                let config = SamplingConfig::new().with_temperature(0.0).with_use_cache(use_cache);
                let generated = generate(&model, &fixture.prompt, 20, &config, |_| false).unwrap();
                assert_eq!(
                    generated.tokens, fixture.greedy,
                    "{} on {backend}, cache {use_cache}",
                    fixture.folder
                );
            }
        }
    }
}

#[test]
fn perplexity_by_a_sliding_window_equals_the_hugging_face_guides() {
    let device = &backends()[0].1;
    for fixture in fixtures() {
        let (config, model) = load_gpt2(&folder(&fixture.folder), device).unwrap();
        let one_window =
            sliding_window_perplexity(&model, &fixture.text_ids[..config.block_size], config.block_size).unwrap();
        assert!(
            (one_window.mean_nll - fixture.loss_first_window).abs() < 1e-5,
            "{one_window:?}"
        );
        let sliding = sliding_window_perplexity(&model, &fixture.text_ids, fixture.stride).unwrap();
        assert_eq!(sliding.tokens_scored, fixture.sliding_window_tokens);
        assert!(
            (sliding.mean_nll - fixture.sliding_window_nll).abs() < 1e-5,
            "{}: ours {sliding:?}, the guide's mean NLL {}",
            fixture.folder,
            fixture.sliding_window_nll
        );
        assert!((sliding.perplexity - sliding.mean_nll.exp()).abs() < 1e-9);
        // Every token but the first is scored once; tiling the text (stride = context) also leaves out the first
        // token of every window, which would have no context.
        assert_eq!(sliding.tokens_scored, fixture.text_ids.len() - 1);
        let tiled = sliding_window_perplexity(&model, &fixture.text_ids, config.block_size).unwrap();
        let windows = fixture.text_ids.len().div_ceil(config.block_size);
        assert_eq!(tiled.tokens_scored, fixture.text_ids.len() - windows);
    }
}

#[test]
fn the_folders_tokenizers_give_the_libraries_ids() {
    for fixture in fixtures() {
        let tokenizer = Gpt2Tokenizer::from_folder(&folder(&fixture.folder)).unwrap();
        assert_eq!(tokenizer.vocab_size(), 300);
        for (text, ids) in fixture.texts.iter().zip(&fixture.ids) {
            assert_eq!(
                &tokenizer.encode_with_end_of_text(text),
                ids,
                "{}: {text:?}",
                fixture.folder
            );
        }
    }
}

/// A copy of tiny folder `a` with `config.json` changed by `edit`.
fn folder_with_config(edit: impl FnOnce(&mut serde_json::Value)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in ["config.json", "model.safetensors", "vocab.json", "merges.txt"] {
        std::fs::copy(folder("tiny_gpt2_a").join(file), dir.path().join(file)).unwrap();
    }
    let path = dir.path().join("config.json");
    let mut config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut config);
    std::fs::write(&path, config.to_string()).unwrap();
    dir
}

#[test]
fn folders_that_do_not_fit_are_errors_naming_the_problem() {
    let device = &backends()[0].1;
    let message = |dir: &tempfile::TempDir| load_gpt2(dir.path(), device).unwrap_err().to_string();

    let wider = folder_with_config(|c| c["n_embd"] = 40.into());
    let err = message(&wider);
    assert!(
        err.contains("tensor transformer.wte.weight has shape [300, 32], but config.json implies [300, 40]"),
        "{err}"
    );

    let deeper = folder_with_config(|c| c["n_layer"] = 3.into());
    let err = message(&deeper);
    assert!(err.contains("no tensor transformer.h.2.attn.c_attn.weight"), "{err}");

    let relu = folder_with_config(|c| c["activation_function"] = "relu".into());
    assert!(message(&relu).contains("activation_function \"relu\""));

    let narrow_mlp = folder_with_config(|c| c["n_inner"] = 64.into());
    assert!(message(&narrow_mlp).contains("n_inner 64 (the MLP is 4 x n_embd = 128)"));

    let missing = tempfile::tempdir().unwrap();
    let err = load_gpt2(missing.path(), device).unwrap_err();
    assert!(
        matches!(err, Gpt2Error::Data(common::DataError::ModelFileMissing { .. }))
            && err.to_string().contains("config.json"),
        "{err}"
    );
}

/// A `config.json` of `{}` is GPT-2 124M, and so is the default configuration: 124,439,808 parameters, as
/// `transformers` counts `GPT2LMHeadModel(GPT2Config())`'s.
#[test]
fn the_default_configuration_is_gpt2_124m() {
    let from_empty_file: Gpt2Config = serde_json::from_str("{}").unwrap();
    assert_eq!(Gpt2Config::default(), from_empty_file);
    assert_eq!(Gpt2Config::default().to_gpt().unwrap().num_params(), 124_439_808);
}
