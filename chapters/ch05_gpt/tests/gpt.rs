//! Chapter 5's tests: the model's numbers (initial loss, parameter count, causality, cache, backends), the
//! training recipe (overfitting, weight-decay groups, schedule, exact resume) and generation (sampling rules,
//! reproducibility, bad input).

use std::path::Path;

use approx::assert_relative_eq;
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::prelude::*;
use common::rng::SplitMix64;
use common::testing::{backends, max_abs_diff, values};
use common::train::CheckpointError;
use gpt::bench::{synthetic_tokenizer, synthetic_tokens};
use gpt::data::random_windows;
use gpt::generation::{GenerationError, draw, next_token_probabilities};
use gpt::training::{cross_entropy, load_checkpoint, load_weights, open_run, optimizer, whole_split_loss};
use gpt::{
    GptConfig, GptError, KvCache, RunConfig, SamplingConfig, TokenSplits, Tokenizer, TokenizerKind, Trainer, generate,
};
use proptest::prelude::*;

const TEXT: &str = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n\
                    First Citizen:\nYou are all resolved rather to die than to famish?\n\nAll:\nResolved. resolved.\n";

/// The flex backend has one random generator per process, and tests run on parallel threads: a test that seeds it
/// and expects the same draws twice (the resume test) would see other tests' draws in between. Every test that
/// draws holds this lock.
fn exclusive_rng() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn tiny(vocab_size: usize) -> RunConfig {
    RunConfig::tiny(vocab_size)
}

/// A fresh run of `config` on `data` (on the CPU, with autodiff).
fn trainer(config: RunConfig, tokenizer: &Tokenizer, data: &TokenSplits) -> Trainer {
    gpt::trainer(config, data.clone(), tokenizer.clone(), &Device::flex().autodiff()).unwrap()
}

fn ids(tokens: &[i64], device: &Device) -> Tensor<2, Int> {
    Tensor::from_data(TensorData::new(tokens.to_vec(), [1, tokens.len()]), device)
}

#[test]
fn the_parameter_count_has_a_closed_form() {
    let _rng = exclusive_rng();
    let device = Device::flex();
    for bias in [false, true] {
        let config = GptConfig::new(65)
            .with_n_layer(3)
            .with_n_embd(48)
            .with_block_size(20)
            .with_bias(bias);
        assert_eq!(config.init(&device).num_params(), config.num_params(), "bias = {bias}");
    }
    // nanoGPT prints "0.80M" for the baby run: it leaves out the 64 x 128 position table, 795,904 + 8,192.
    assert_eq!(GptConfig::new(65).num_params(), 804_096);
}

#[test]
fn the_loss_at_initialisation_is_close_to_ln_vocab() {
    let _rng = exclusive_rng();
    let device = Device::flex();
    device.seed(0);
    let config = GptConfig::new(65);
    let model = config.init(&device);
    let data = synthetic_tokens(65, 10_000, 1);
    let (x, y) = random_windows(&data.train, 32, 64, &mut SplitMix64::new(2), &device);
    let loss = cross_entropy(model.forward(x), y).into_scalar::<f32>();
    assert_relative_eq!(loss, 65f32.ln(), epsilon = 0.05);
}

#[test]
fn gpt2_initialisation_zeroes_biases_and_scales_the_residual_projections() {
    let _rng = exclusive_rng();
    let device = Device::flex();
    device.seed(3);
    let model = GptConfig::new(65)
        .with_n_embd(256)
        .with_n_layer(8)
        .with_bias(true)
        .init(&device);
    let std = |t: Tensor<2>| {
        let v = values(t);
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        (v.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / v.len() as f32).sqrt()
    };
    let block = &model.blocks[0];
    assert_relative_eq!(std(block.attention.w_q.weight.val()), 0.02, epsilon = 0.001);
    assert_relative_eq!(std(model.embedding.token.weight.val()), 0.02, epsilon = 0.001);
    assert_relative_eq!(std(block.attention.w_o.weight.val()), 0.02 / 4.0, epsilon = 0.0005);
    assert_relative_eq!(std(block.mlp.linear_2.weight.val()), 0.02 / 4.0, epsilon = 0.0005);
    let bias = block.mlp.linear_1.bias.as_ref().expect("bias = true").val();
    assert_eq!(bias.abs().max().into_scalar::<f32>(), 0.0);
    assert_eq!(
        values(block.around_mlp.norm.gamma.val().unsqueeze::<2>()),
        vec![1.0; 256]
    );
}

#[test]
fn windows_are_targets_shifted_by_one() {
    let _rng = exclusive_rng();
    let device = Device::flex();
    let corpus: Vec<u32> = (0..100).collect();
    let (x, y) = random_windows(&corpus, 4, 10, &mut SplitMix64::new(0), &device);
    let ints = |t: Tensor<2, Int>| t.into_data().convert::<i64>().try_to_vec::<i64>().unwrap();
    let (x, y) = (ints(x), ints(y));
    for (row_x, row_y) in x.chunks(10).zip(y.chunks(10)) {
        for t in 0..10 {
            assert_eq!(row_y[t], row_x[t] + 1); // the corpus counts up, so "the next token" is +1
        }
        assert!(row_x.windows(2).all(|w| w[1] == w[0] + 1), "windows are contiguous");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// The logits at position t depend on tokens 0..=t only: changing every later token changes none of them.
    #[test]
    fn outputs_at_t_ignore_tokens_after_t(
        seed in 0u64..1000,
        tokens in proptest::collection::vec(0i64..65, 2..16),
        cut in 0usize..15,
    ) {
        let _rng = exclusive_rng();
        let cut = cut % (tokens.len() - 1);
        for (name, device) in backends() {
            device.seed(seed);
            let model = tiny(65).model.init(device);
            let mut changed = tokens.clone();
            for token in &mut changed[cut + 1..] {
                *token = (*token + 1 + seed as i64 % 60) % 65;
            }
            let t = tokens.len();
            let before = |tokens: &[i64]| values(model.forward(ids(tokens, device)).slice([0..1, 0..cut + 1, 0..65]));
            let (a, b) = (before(&tokens), before(&changed));
            for (x, y) in a.iter().zip(&b) {
                prop_assert!((x - y).abs() < 1e-5, "{name}: logits before {cut} of {t} changed: {x} vs {y}");
            }
        }
    }

    /// Feeding a sequence in pieces through the KV cache gives the logits of feeding it whole.
    #[test]
    fn the_kv_cache_gives_the_logits_of_a_full_forward_pass(
        seed in 0u64..1000,
        tokens in proptest::collection::vec(0i64..65, 2..16),
        first in 1usize..15,
    ) {
        let _rng = exclusive_rng();
        let device = Device::flex();
        device.seed(seed);
        let model = tiny(65).model.init(&device);
        let first = first.min(tokens.len() - 1);
        let full = values(model.forward(ids(&tokens, &device)));
        let mut cache = KvCache::new();
        let mut pieces = values(model.forward_cached(ids(&tokens[..first], &device), &mut cache));
        for &token in &tokens[first..] {
            pieces.extend(values(model.forward_cached(ids(&[token], &device), &mut cache)));
        }
        prop_assert_eq!(cache.len(), tokens.len());
        for (x, y) in full.iter().zip(&pieces) {
            prop_assert!((x - y).abs() < 1e-5, "{} vs {}", x, y);
        }
        // Taken back to the first piece, the cache continues as if the rest had never been fed.
        cache.truncate(first);
        prop_assert_eq!(cache.len(), first);
        let again = values(model.forward_cached(ids(&tokens[first..], &device), &mut cache));
        for (x, y) in full[first * 65..].iter().zip(&again) {
            prop_assert!((x - y).abs() < 1e-5, "after truncating: {} vs {}", x, y);
        }
    }

    /// With and without the cache, the same seed draws the same tokens, also after the context is full.
    #[test]
    fn sampling_with_and_without_the_cache_draws_the_same_tokens(seed in 0u64..1000, temperature in 0.5f32..1.5) {
        let _rng = exclusive_rng();
        let device = Device::flex();
        device.seed(seed);
        let model = tiny(65).model.init(&device);
        let sample = |use_cache| {
            let config = SamplingConfig::new().with_temperature(temperature).with_seed(seed).with_use_cache(use_cache);
            generate(&model, &[1, 2, 3], 30, &config, |_| false).unwrap().tokens // 33 > the context of 16
        };
        prop_assert_eq!(sample(true), sample(false));
    }

    /// Whatever the logits and filters, the next-token probabilities are a distribution over at most top-k tokens.
    #[test]
    fn next_token_probabilities_are_a_distribution(
        logits in proptest::collection::vec(-10f32..10.0, 1..50),
        temperature in 0.1f32..3.0,
        top_k in proptest::option::of(1usize..60),
        top_p in proptest::option::of(0.05f32..1.0),
    ) {
        let config = SamplingConfig::new().with_temperature(temperature).with_top_k(top_k).with_top_p(top_p);
        let p = next_token_probabilities(&logits, &config);
        prop_assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        prop_assert!(p.iter().all(|&x| (0.0..=1.0 + 1e-6).contains(&x)));
        if let Some(k) = top_k {
            prop_assert!(p.iter().filter(|&&x| x > 0.0).count() <= k);
        }
    }

    /// Selecting the top k before sorting them keeps exactly the tokens a sort of the whole vocabulary keeps, ties
    /// (logits drawn from a few values) to the lower id: the same probabilities, greedy or not, with or without
    /// top-p.
    #[test]
    fn selecting_the_top_k_is_sorting_everything(
        logits in proptest::collection::vec((0u8..6).prop_map(|level| level as f32 * 0.5), 1..300),
        temperature in prop_oneof![Just(0.0f32), 0.1f32..3.0],
        top_k in proptest::option::of(1usize..310),
        top_p in proptest::option::of(0.05f32..1.0),
    ) {
        let config = SamplingConfig::new().with_temperature(temperature).with_top_k(top_k).with_top_p(top_p);
        prop_assert_eq!(next_token_probabilities(&logits, &config), sorting_everything(&logits, &config));
    }
}

/// The sampler's rule with the whole vocabulary sorted, stably, most likely first.
fn sorting_everything(logits: &[f32], config: &SamplingConfig) -> Vec<f32> {
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    let mut probabilities = vec![0.0; logits.len()];
    if config.temperature <= 0.0 {
        probabilities[order[0]] = 1.0;
        return probabilities;
    }
    let keep = config.top_k.unwrap_or(logits.len()).clamp(1, logits.len());
    let max = logits[order[0]];
    let weights: Vec<f32> = order[..keep]
        .iter()
        .map(|&i| ((logits[i] - max) / config.temperature).exp())
        .collect();
    let total: f32 = weights.iter().sum();
    let mut kept_mass = 0.0;
    for (&i, w) in order.iter().zip(&weights) {
        if config.top_p.is_some_and(|top_p| kept_mass >= top_p) {
            break;
        }
        probabilities[i] = w / total;
        kept_mass += w / total;
    }
    probabilities.iter_mut().for_each(|p| *p /= kept_mass);
    probabilities
}

#[test]
fn sampling_rules_on_a_hand_made_distribution() {
    let _rng = exclusive_rng();
    let logits = [2f32.ln(), 1f32.ln(), 4f32.ln(), 1f32.ln()]; // softmax: 0.25, 0.125, 0.5, 0.125
    let p = |config: SamplingConfig| next_token_probabilities(&logits, &config);
    assert_eq!(p(SamplingConfig::new().with_temperature(0.0)), vec![0.0, 0.0, 1.0, 0.0]);
    let plain = p(SamplingConfig::new());
    for (got, want) in plain.iter().zip([0.25, 0.125, 0.5, 0.125]) {
        assert_relative_eq!(*got, want, epsilon = 1e-6);
    }
    // Temperature 0.5 squares the odds: 4 : 1 : 16 : 1.
    let sharp = p(SamplingConfig::new().with_temperature(0.5));
    assert_relative_eq!(sharp[2], 16.0 / 22.0, epsilon = 1e-6);
    // Top-2 keeps 0.5 and 0.25, renormalised.
    let top_2 = p(SamplingConfig::new().with_top_k(Some(2)));
    assert_relative_eq!(top_2[2], 2.0 / 3.0, epsilon = 1e-6);
    assert_relative_eq!(top_2[0], 1.0 / 3.0, epsilon = 1e-6);
    assert_eq!((top_2[1], top_2[3]), (0.0, 0.0));
    // Top-p 0.7: 0.5 is not enough, 0.5 + 0.25 is; the nucleus is the same two tokens.
    assert_eq!(p(SamplingConfig::new().with_top_p(Some(0.7))), top_2);
    // Drawing follows the probabilities.
    let mut rng = SplitMix64::new(5);
    let mut counts = [0usize; 4];
    for _ in 0..40_000 {
        counts[draw(&plain, &mut rng)] += 1;
    }
    assert_relative_eq!(counts[2] as f64 / 40_000.0, 0.5, epsilon = 0.01);
    assert_relative_eq!(counts[1] as f64 / 40_000.0, 0.125, epsilon = 0.01);
}

#[test]
fn sampling_is_reproducible_and_seeded() {
    let _rng = exclusive_rng();
    let device = Device::flex();
    device.seed(7);
    let model = tiny(65).model.init(&device);
    let run = |seed| {
        generate(&model, &[5], 40, &SamplingConfig::new().with_seed(seed), |_| false)
            .unwrap()
            .tokens
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
    let stopped = generate(&model, &[5], 40, &SamplingConfig::new(), |new| new.len() == 7).unwrap();
    assert_eq!(stopped.tokens.len(), 7);
}

#[test]
fn a_corpus_too_short_for_one_window_is_an_error_not_a_panic() {
    let _rng = exclusive_rng();
    // 40 characters: 36 to train on, 4 to validate on, against windows of 16 + 1.
    let (tokenizer, data) = TokenSplits::build(&"abcd".repeat(10), TokenizerKind::Char).unwrap();
    let config = tiny(tokenizer.vocab_size());
    let error = gpt::trainer(config, data, tokenizer, &Device::flex().autodiff())
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(
            error,
            GptError::TooFewTokens {
                what: "the validation split",
                tokens: 4,
                block_size: 16
            }
        ),
        "{error}"
    );
}

#[test]
fn bad_generation_input_is_an_error_not_a_panic() {
    let _rng = exclusive_rng();
    let device = Device::flex();
    let model = tiny(65).model.init(&device);
    let config = SamplingConfig::new();
    let err = |prompt: &[u32], config: &SamplingConfig| generate(&model, prompt, 5, config, |_| false).unwrap_err();
    assert_eq!(err(&[], &config), GenerationError::EmptyPrompt);
    assert_eq!(
        err(&[3, 65], &config),
        GenerationError::UnknownToken { id: 65, vocab_size: 65 }
    );
    assert_eq!(
        err(&[3], &config.clone().with_temperature(-1.0)),
        GenerationError::BadTemperature(-1.0)
    );
    assert_eq!(
        err(&[3], &config.clone().with_top_p(Some(1.5))),
        GenerationError::BadTopP(1.5)
    );
    // A prompt longer than the context is cropped from the left, and the caller is told by how much.
    let long: Vec<u32> = (0..40).map(|i| i % 65).collect();
    let generation = generate(&model, &long, 3, &config, |_| false).unwrap();
    assert_eq!((generation.prompt_tokens_dropped, generation.tokens.len()), (24, 3));
    // A character outside the vocabulary names itself.
    let tokenizer = Tokenizer::Char(tokens::CharTokenizer::from_corpus(TEXT).unwrap());
    let error = tokenizer.encode("Zounds!").unwrap_err();
    assert!(error.to_string().contains("'Z'"), "{error}");
}

/// A failing GPU is a message with its cause and a way out. The report is burn's, shortened, from the `small` preset
/// on llvmpipe (which allows smaller buffers than a GPU).
#[test]
fn a_device_failure_names_its_cause_and_the_fix() {
    let report = "An error happened during execution\nCaused by:\n  Several failures at once\nCaused by:\n  \
                  The bytes were never written (failure #1259, still claiming 3 buffer(s))\n  skipped `KernelBinop`: \
                  it needed memory ManagedMemoryId { value: 2144 }, which carried the failure\nCaused by:\n  An IO \
                  error happened\nCaused by:\n  can't allocate buffer of size: 150994944\nNo backtrace available";
    let message = GptError::device_failed(report).to_string();
    assert!(
        message.contains("(can't allocate buffer of size: 150994944)"),
        "{message}"
    );
    assert!(!message.contains("skipped"), "{message}");
    assert!(message.contains("--device cpu"), "{message}");
    assert!(
        GptError::device_failed("lost device")
            .to_string()
            .contains("(lost device)")
    );
}

#[test]
fn the_schedule_is_nanogpts() {
    let _rng = exclusive_rng();
    let config = RunConfig::baby(65).training;
    assert_relative_eq!(config.schedule().at(0), 1e-3 / 101.0);
    assert_relative_eq!(config.schedule().at(99), 1e-3 * 100.0 / 101.0);
    assert_relative_eq!(config.schedule().at(100), 1e-3);
    assert_relative_eq!(config.schedule().at(1050), 0.55e-3, epsilon = 1e-12); // halfway: the mean of 1e-3 and 1e-4
    assert_relative_eq!(config.schedule().at(2000), 1e-4);
    assert_relative_eq!(config.schedule().at(3000), 1e-4);
}

/// With zero gradients Adam moves nothing, so what changes is the weight decay alone: matrices and embeddings
/// shrink by 1 - ηλ, gains and biases stay.
#[test]
fn weight_decay_applies_to_matrices_only() {
    let _rng = exclusive_rng();
    let device = Device::flex().autodiff();
    let config = tiny(65);
    let model = config.model.clone().with_bias(true).init(&device);
    let (x, _) = random_windows(
        &synthetic_tokens(65, 100, 0).train,
        2,
        16,
        &mut SplitMix64::new(0),
        &device,
    );
    let zero_loss = model.forward(x).sum().mul_scalar(0.0);
    let grads = GradientsParams::from_grads(zero_loss.backward(), &model);
    let lr = 0.5;
    let updated = optimizer(&config.training, &model).step(lr, model.clone(), grads);
    let shrink = 1.0 - lr as f32 * config.training.weight_decay as f32;
    let pairs2 = [
        (
            &model.blocks[0].attention.w_q.weight,
            &updated.blocks[0].attention.w_q.weight,
        ),
        (&model.embedding.token.weight, &updated.embedding.token.weight),
    ];
    for (before, after) in pairs2 {
        for (b, a) in values(before.val()).iter().zip(values(after.val())) {
            assert_relative_eq!(a, b * shrink, epsilon = 1e-6);
        }
    }
    let before = values(model.blocks[0].around_mlp.norm.gamma.val());
    assert_eq!(values(updated.blocks[0].around_mlp.norm.gamma.val()), before);
    let bias = |m: &gpt::Gpt| values(m.blocks[1].mlp.linear_2.bias.as_ref().unwrap().val());
    assert_eq!(bias(&updated), bias(&model));
}

#[test]
fn a_tiny_gpt_overfits_one_batch() {
    let _rng = exclusive_rng();
    let device = Device::flex().autodiff();
    let mut config = tiny(65);
    config.training = config
        .training
        .with_learning_rate(1e-2)
        .with_warmup_iters(0)
        .with_lr_decay_iters(10_000);
    // 17 tokens hold exactly one window of 16 + 1: every batch is that window.
    let data = synthetic_tokens(65, 17, 4);
    let mut trainer = gpt::trainer(config, data, synthetic_tokenizer(65), &device).unwrap();
    let first = trainer.train_step().unwrap().into_scalar::<f32>();
    let last = (0..150)
        .map(|_| trainer.train_step().unwrap())
        .last()
        .unwrap()
        .into_scalar::<f32>();
    assert!(first > 4.0 && last < 0.05, "loss {first} -> {last}");
}

fn text_splits() -> (Tokenizer, TokenSplits) {
    TokenSplits::build(&TEXT.repeat(4), TokenizerKind::Char).unwrap()
}

#[test]
fn the_whole_split_loss_is_the_mean_over_the_windows_that_tile_it() {
    let _rng = exclusive_rng();
    let (tokenizer, data) = text_splits();
    let mut config = tiny(tokenizer.vocab_size());
    config.training.batch_size = 3; // the split's windows do not fill the last batch
    let block_size = config.model.block_size;
    let trainer = trainer(config, &tokenizer, &data);
    let windows = (data.val.len() - 1) / block_size;
    assert!(windows > 3 && !windows.is_multiple_of(3), "{windows} windows");

    // One window at a time, each in its own forward pass: tokens iT..iT+T, targets one further on.
    let model = trainer.model.valid();
    let device = Device::flex();
    let by_hand: f64 = (0..windows)
        .map(|i| {
            let window = |from: usize| {
                let tokens: Vec<i64> = data.val[from..from + block_size].iter().map(|&id| id as i64).collect();
                ids(&tokens, &device)
            };
            let (x, y) = (window(i * block_size), window(i * block_size + 1));
            f64::from(cross_entropy(model.forward(x), y).into_scalar::<f32>())
        })
        .sum::<f64>()
        / windows as f64;
    assert_relative_eq!(
        whole_split_loss(&trainer, &data.val).unwrap(),
        by_hand,
        max_relative = 1e-6
    );

    let error = whole_split_loss(&trainer, &data.val[..block_size]).unwrap_err();
    assert!(error.to_string().contains("too few for one window"), "{error}");
}

#[test]
fn a_resumed_run_follows_the_uninterrupted_one_exactly() {
    let _rng = exclusive_rng();
    let device = Device::flex().autodiff();
    let (tokenizer, data) = text_splits();
    let mut config = tiny(tokenizer.vocab_size());
    config.model = config.model.with_dropout(0.1); // dropout masks must come back too

    let mut whole = trainer(config.clone(), &tokenizer, &data);
    whole.train(60, None, None).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("run");
    let mut first_half = trainer(config, &tokenizer, &data);
    first_half.train(30, Some(&checkpoint), None).unwrap();
    first_half.save(&checkpoint).unwrap();
    drop(first_half);
    let saved = open_run(&checkpoint).unwrap();
    assert_eq!(saved.tokenizer, tokenizer);
    let mut resumed = saved.resume(data, &device).unwrap();
    assert_eq!(resumed.step, 30);
    resumed.train(60, Some(&checkpoint), None).unwrap();

    // Every step's loss was read from the device, and each evaluation marks the step before it.
    let steps = |t: &Trainer| t.history.iter().map(|p| p.step).collect::<Vec<_>>();
    assert_eq!(steps(&whole), (0..60).collect::<Vec<_>>());
    let evaluated: Vec<_> = whole
        .history
        .iter()
        .filter(|p| p.val_loss.is_some())
        .map(|p| p.step)
        .collect();
    assert_eq!(evaluated, [19, 39, 59]);
    let losses = |t: &Trainer| t.history.iter().map(|p| p.train_loss).collect::<Vec<_>>();
    assert_eq!(losses(&resumed), losses(&whole));
    assert_eq!(resumed.evaluations, whole.evaluations);
    assert!(whole.evaluations.last().unwrap().val_loss < whole.evaluations[0].val_loss);
}

#[test]
fn checkpoints_load_for_inference_and_mismatches_are_explained() {
    let _rng = exclusive_rng();
    let device = Device::flex().autodiff();
    let (tokenizer, data) = text_splits();
    let config = tiny(tokenizer.vocab_size());
    let mut trainer = gpt::trainer(config.clone(), data, tokenizer.clone(), &device).unwrap();
    trainer.train(5, None, None).unwrap();
    assert_eq!(
        trainer.history.len(),
        5,
        "train reads the last losses even between two reads"
    );
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("run");
    trainer.save(&checkpoint).unwrap();

    let inference = Device::flex();
    let (model, loaded_config, loaded_tokenizer) = load_checkpoint(&checkpoint, &inference).unwrap();
    assert_eq!((loaded_config, loaded_tokenizer), (config.clone(), tokenizer));
    let x = ids(&[1, 2, 3], &inference);
    assert_eq!(
        values(model.forward(x.clone())),
        values(trainer.model.valid().forward(x))
    );

    let wider = config.model.clone().with_n_embd(64);
    let message = load_weights(&wider, &checkpoint, &inference)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(message.contains("do not fit the model configuration"), "{message}");
    let missing = load_checkpoint(&dir.path().join("nothing"), &inference)
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(missing, GptError::Checkpoint(CheckpointError::Missing(_))),
        "{missing:?}"
    );
}

#[test]
fn tokenizers_survive_a_round_trip_through_json() {
    let _rng = exclusive_rng();
    for kind in [TokenizerKind::Char, TokenizerKind::Bpe(270)] {
        let (tokenizer, data) = TokenSplits::build(&TEXT.repeat(3), kind).unwrap();
        let json = tokenizer.to_json();
        assert_eq!(
            Tokenizer::from_json(&json, Path::new("tokenizer.json")).unwrap(),
            tokenizer
        );
        assert_eq!(
            tokenizer.decode(&data.val).unwrap().len() + tokenizer.decode(&data.train).unwrap().len(),
            3 * TEXT.len()
        );
    }
    assert!(matches!(
        TokenSplits::build("", TokenizerKind::Char),
        Err(GptError::EmptyCorpus)
    ));
    let error = Tokenizer::from_json("{\"kind\": \"char\"}", Path::new("t.json")).unwrap_err();
    assert!(
        error.to_string().starts_with("t.json is not a tokenizer file"),
        "{error}"
    );
}

#[test]
fn cpu_and_wgpu_compute_the_same_logits() {
    let _rng = exclusive_rng();
    let cpu = Device::flex();
    cpu.seed(11);
    let model = RunConfig::baby(65).model.init(&cpu);
    let tokens: Vec<i64> = (0..64).map(|i| (i * 7 % 65) as i64).collect();
    let reference = values(model.forward(ids(&tokens, &cpu)));
    for (name, device) in backends() {
        let moved = model.clone().to_device(device);
        let logits = values(moved.forward(ids(&tokens, device)));
        let worst = max_abs_diff(&reference, &logits);
        assert!(worst < 1e-4, "{name}: largest difference {worst}");
    }
}

#[test]
fn presets_are_valid_and_an_invalid_config_names_every_bad_field() {
    for preset in ["baby", "small", "tiny"] {
        RunConfig::named(preset, 65).unwrap().validate().unwrap();
    }
    let mut config = tiny(65);
    config.model.n_head = 3;
    config.model.dropout = 1.0;
    config.training.eval_iters = 0;
    let invalid = config.validate().unwrap_err();
    assert_eq!(
        invalid.problems,
        [
            "n_embd = 32 (must be a multiple of n_head = 3)",
            "dropout = 1 (must be at least 0 and below 1)",
            "eval_iters = 0 (must be at least 1)",
        ]
    );
    let (tokenizer, data) = text_splits();
    let message = gpt::trainer(config, data, tokenizer, &Device::flex().autodiff())
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(message.contains("n_embd = 32"), "{message}");
}

#[test]
fn a_loss_that_is_not_finite_stops_training_and_nothing_diverged_is_saved() {
    let _rng = exclusive_rng();
    let (tokenizer, data) = text_splits();
    let mut config = tiny(tokenizer.vocab_size());
    config.training.learning_rate = 1e30;
    config.training.min_lr = 1e29;
    let mut trainer = trainer(config, &tokenizer, &data);
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("run");
    let error = trainer.train(60, Some(&checkpoint), None).unwrap_err();
    let GptError::Diverged(diverged) = error else {
        panic!("not a divergence: {error}")
    };
    assert!(!diverged.loss.is_finite() && diverged.step < 20, "{diverged}");
    assert!(trainer.history.iter().all(|point| point.train_loss.is_finite()));
    // The step-0 checkpoint, saved before the first step, is still there and loads.
    let (_, _, restored) = load_checkpoint(&checkpoint, &Device::flex()).unwrap();
    assert_eq!(restored, tokenizer);
    assert!(trainer.save(&checkpoint).is_err(), "a diverged model was saved");
}
