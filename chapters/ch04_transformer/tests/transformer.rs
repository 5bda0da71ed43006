use burn::prelude::*;
use burn::tensor::Tolerance;
use common::testing::{backends, values};
use common::train::{adamw, checkpoint, clip_global_norm};
use proptest::prelude::*;
use transformer::data::{Batch, Example, Splits, Vocabulary, number_to_words};
use transformer::decoding::{exact_match, predict};
use transformer::training::{
    CheckpointState, RunState, TrainingConfig, ValLoss, decoder_gradient_profile, load_checkpoint,
    smoothed_cross_entropy, train,
};
use transformer::{NormPosition, TransformerConfig};

#[test]
fn numbers_in_words() {
    for (n, words) in [
        (0, "zero"),
        (7, "seven"),
        (13, "thirteen"),
        (40, "forty"),
        (342, "three hundred forty two"),
        (1000, "one thousand"),
        (402_017, "four hundred two thousand seventeen"),
        (999_999, "nine hundred ninety nine thousand nine hundred ninety nine"),
    ] {
        assert_eq!(number_to_words(n), words);
    }
}

#[test]
fn splits_never_share_a_number() {
    let splits = Splits::generate(7, 2000, 300, 300);
    let mut seen = std::collections::HashSet::new();
    for e in splits.train.iter().chain(&splits.val).chain(&splits.test) {
        assert!(seen.insert(e.number), "{} is in two splits", e.number);
    }
    assert_eq!(seen.len(), 2600);
    // And the same seed gives the same splits.
    assert_eq!(Splits::generate(7, 2000, 300, 300).test, splits.test);
}

#[test]
fn an_unknown_word_is_a_clear_error() {
    let error = Vocabulary::words().id("eleventy").unwrap_err();
    assert_eq!(error.token, "eleventy");
    let error = error.to_string();
    assert!(
        error.contains("unknown token \"eleventy\"") && error.contains("hundred"),
        "{error}"
    );
}

#[test]
fn batches_shift_the_target_for_teacher_forcing() {
    let device = &Device::flex();
    let (a, b) = (Example::new(42), Example::new(7));
    let batch = Batch::new(&[&a, &b], device);
    let ints = |t: Tensor<2, Int>| t.to_data().convert::<i64>().try_into_vec::<i64>().unwrap();
    // 42 -> digits "4" "2" are ids 3 + 4, 3 + 2; BOS = 1, EOS = 2, PAD = 0.
    assert_eq!(ints(batch.tgt_in), [1, 7, 5, 1, 10, 0]);
    assert_eq!(ints(batch.tgt_out), [7, 5, 2, 10, 2, 0]);
    assert_eq!(batch.src.dims(), [2, 3]); // "forty two" + EOS, "seven" + EOS + PAD
    assert_eq!(
        batch.src_padding.to_data().try_to_vec::<bool>().unwrap(),
        [true, true, true, true, true, false]
    );
}

#[test]
fn the_schedule_warms_up_then_decays_to_the_floor() {
    let config = TrainingConfig::new()
        .with_steps(1000)
        .with_warmup_steps(100)
        .with_learning_rate(1e-3)
        .with_min_learning_rate(1e-5);
    let schedule = config.schedule();
    approx::assert_abs_diff_eq!(schedule.at(0), 1e-3 / 101.0, epsilon = 1e-12);
    approx::assert_abs_diff_eq!(schedule.at(99), 1e-3 * 100.0 / 101.0, epsilon = 1e-12);
    approx::assert_abs_diff_eq!(schedule.at(100), 1e-3, epsilon = 1e-12);
    approx::assert_abs_diff_eq!(schedule.at(550), (1e-3 + 1e-5) / 2.0, epsilon = 1e-9);
    approx::assert_abs_diff_eq!(schedule.at(1000), 1e-5, epsilon = 1e-12);
}

#[test]
fn smoothed_loss_matches_the_formula() {
    let device = &Device::flex();
    // One position, vocabulary of 4, logits (0, ln 2, 0, 0): p = (1/5, 2/5, 1/5, 1/5), target 1.
    let logits = Tensor::<1>::from_floats([0.0, 2f32.ln(), 0.0, 0.0, 9.0, 9.0, 9.0, 9.0], device).reshape([1, 2, 4]);
    let targets = Tensor::<1, Int>::from_ints([1, 0], device).reshape([1, 2]); // the second position is PAD
    let eps = 0.1f32;
    let p = [0.2f32, 0.4, 0.2, 0.2];
    let want = -(1.0 - eps) * p[1].ln() - eps / 4.0 * p.iter().map(|p| p.ln()).sum::<f32>();
    let got = smoothed_cross_entropy(logits.clone(), targets.clone(), eps).into_scalar::<f32>();
    approx::assert_abs_diff_eq!(got, want, epsilon = 1e-6);
    // Without smoothing it is burn's cross-entropy.
    let plain = smoothed_cross_entropy(logits, targets, 0.0).into_scalar::<f32>();
    approx::assert_abs_diff_eq!(plain, -(0.4f32.ln()), epsilon = 1e-6);
}

#[test]
fn clipping_rescales_the_global_norm() {
    let device = &Device::flex().autodiff();
    device.seed(1);
    let model = TransformerConfig::tiny(NormPosition::Pre).init(device);
    let batch = Batch::new(&[&Example::new(123_456)], device);
    let loss = smoothed_cross_entropy(model.forward(&batch), batch.tgt_out.clone(), 0.0).mul_scalar(1000.0);
    let grads = burn::optim::GradientsParams::from_grads(loss.backward(), &model);
    // Below the threshold the gradients pass unchanged, to the bit.
    let (kept, before) = clip_global_norm(&model, grads, 1e9);
    let before = before.into_scalar::<f32>();
    assert!(before > 1.0, "the test wants a gradient norm above 1, got {before}");
    let (kept, unchanged) = clip_global_norm(&model, kept, f32::INFINITY);
    assert_eq!(unchanged.into_scalar::<f32>(), before);
    // Above it, they are scaled down to norm 1.
    let (clipped, norm) = clip_global_norm(&model, kept, 1.0);
    assert_eq!(norm.into_scalar::<f32>(), before);
    let (_, after) = clip_global_norm(&model, clipped, f32::INFINITY);
    approx::assert_abs_diff_eq!(after.into_scalar::<f32>(), 1.0, epsilon = 1e-3);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// The decoder cannot see the future: changing target tokens after position t leaves the logits at <= t as
    /// they were.
    #[test]
    fn the_decoder_cannot_see_future_targets(seed in 0u64..100, t in 0usize..5, a in 0u32..1_000_000, b in 0u32..1_000_000) {
        for (_, device) in backends() {
            device.seed(seed);
            let model = TransformerConfig::tiny(NormPosition::Pre).init(device);
            let source = Example::new(a);
            let (mut x, mut y) = (Example::new(a), Example::new(a));
            x.tgt = vec![3, 4, 5, 6, 7, 8];
            y.tgt = x.tgt[..t].iter().copied().chain(Example::new(b).tgt.iter().copied().cycle().take(6 - t)).collect();
            let logits = |e: &Example| {
                let e = Example { src: source.src.clone(), ..e.clone() };
                values(model.forward(&Batch::new(&[&e], device)))
            };
            let vocab = Vocabulary::digits().len();
            // Position i predicts target token i from tgt_in[..=i] = BOS, tgt[..i]: positions 0..=t see only tgt[..t].
            let (lx, ly) = (logits(&x), logits(&y));
            for (p, q) in lx[..(t + 1) * vocab].iter().zip(&ly[..(t + 1) * vocab]) {
                prop_assert!((p - q).abs() < 1e-5);
            }
        }
    }
}

#[test]
fn padding_does_not_change_the_real_positions() {
    let device = &Device::flex();
    device.seed(4);
    let model = TransformerConfig::tiny(NormPosition::Post).init(device);
    let (short, long) = (Example::new(7), Example::new(777_777));
    let alone = values(model.forward(&Batch::new(&[&short], device)));
    let padded = values(model.forward(&Batch::new(&[&short, &long], device)));
    // `short` alone: t_tgt = 2; in the batch it is padded to 7 target positions, and its source from 2 to 11.
    let vocab = Vocabulary::digits().len();
    for (a, b) in alone.iter().zip(&padded[..2 * vocab]) {
        approx::assert_abs_diff_eq!(a, b, epsilon = 1e-5);
    }
}

/// Why pre-LN: at initialisation, post-LN's gradients grow towards the output (Xiong et al., 2020), pre-LN's do not.
#[test]
fn post_ln_gradients_grow_towards_the_output_and_pre_ln_gradients_do_not() {
    let device = &Device::flex().autodiff();
    let top_over_bottom = |position| {
        let norms = decoder_gradient_profile(position, 12, 4, device);
        norms[9..].iter().sum::<f32>() / norms[..3].iter().sum::<f32>()
    };
    let (post, pre) = (top_over_bottom(NormPosition::Post), top_over_bottom(NormPosition::Pre));
    assert!(
        post > 1.3,
        "post-LN: last three layers' gradients / first three = {post}"
    );
    assert!(pre < 1.15, "pre-LN: last three layers' gradients / first three = {pre}");
}

#[test]
fn a_tiny_model_overfits_a_handful_of_examples() {
    let device = &Device::flex().autodiff();
    let examples: Vec<Example> = [5, 42, 300, 1_234, 99_999, 500_017, 808_080, 13]
        .map(Example::new)
        .to_vec();
    let config = TrainingConfig::new()
        .with_steps(300)
        .with_batch_size(8)
        .with_learning_rate(3e-3)
        .with_warmup_steps(20)
        .with_label_smoothing(0.0)
        .with_weight_decay(0.0)
        .with_eval_every(100);
    let (model, report) = train(
        &TransformerConfig::tiny(NormPosition::Pre),
        &config,
        &examples,
        &examples,
        device,
        None,
        false,
    )
    .unwrap();
    let first = report.history[0].train_loss;
    assert!(
        (first - (Vocabulary::digits().len() as f32).ln()).abs() < 1.0,
        "initial loss {first}"
    );
    assert!(
        report.best_val_loss < 0.05,
        "loss after 300 steps: {}",
        report.best_val_loss
    );
    let inner = device.clone().inner();
    assert_eq!(exact_match(&predict(&model, &examples, 8, &inner), &examples), 1.0);
}

#[test]
fn a_checkpoint_reloads_bit_identical_with_its_configuration() {
    let device = &Device::flex();
    device.seed(8);
    let config = TransformerConfig::tiny(NormPosition::Pre);
    let model = config.init(device);
    let dir = tempfile::tempdir().unwrap();
    let checkpoint_dir = dir.path().join("checkpoint");
    let optimizer = adamw(&burn::optim::AdamWConfig::new(), &model);
    let state = |model: &TransformerConfig| CheckpointState {
        kind: None,
        step: 7,
        history: Vec::new(),
        evaluations: vec![ValLoss { step: 7, val_loss: 0.5 }],
        task: RunState {
            model: model.clone(),
            training: TrainingConfig::new(),
        },
    };
    checkpoint::save(&checkpoint_dir, &model, &optimizer, &state(&config), &[]).unwrap();
    let (loaded, saved) = load_checkpoint(&checkpoint_dir, device).unwrap();
    assert_eq!((saved.step, saved.task.model.d_model), (7, config.d_model));
    let batch = Batch::new(&[&Example::new(31_337)], device);
    assert_eq!(values(model.forward(&batch)), values(loaded.forward(&batch)));
    // Weights saved beside a configuration of another shape are refused with a message saying why.
    let wider = config.clone().with_d_model(64);
    checkpoint::save(&checkpoint_dir, &model, &optimizer, &state(&wider), &[]).unwrap();
    let error = load_checkpoint(&checkpoint_dir, device)
        .expect_err("a mismatch")
        .to_string();
    assert!(error.contains("do not fit the model configuration"), "{error}");
    // A configuration no model can be built with is refused where it is read, naming the field.
    let split_unevenly = config.clone().with_n_heads(3);
    checkpoint::save(&checkpoint_dir, &model, &optimizer, &state(&split_unevenly), &[]).unwrap();
    let error = load_checkpoint(&checkpoint_dir, device)
        .expect_err("an invalid configuration")
        .to_string();
    assert!(
        error.contains("the checkpoint in") && error.contains("d_model = 32 (must be a multiple of n_heads = 3)"),
        "{error}"
    );
    let missing = load_checkpoint(&dir.path().join("nothing"), device)
        .expect_err("no checkpoint")
        .to_string();
    assert!(missing.contains("no checkpoint in"), "{missing}");
}

#[test]
fn cpu_and_wgpu_agree() {
    let (_, cpu) = &backends()[0];
    cpu.seed(6);
    let model = TransformerConfig::tiny(NormPosition::Post).init(cpu);
    let examples = [Example::new(12), Example::new(654_321)];
    let refs: Vec<&Example> = examples.iter().collect();
    let reference = model.forward(&Batch::new(&refs, cpu));
    for (name, device) in &backends()[1..] {
        eprintln!("checking {name} against flex");
        let got = model.clone().to_device(device).forward(&Batch::new(&refs, device));
        got.to_data()
            .assert_approx_eq::<f32>(&reference.to_data(), Tolerance::absolute(1e-4));
    }
}

#[test]
fn the_parameter_count_matches_the_closed_form() {
    let config = TransformerConfig::new(Vocabulary::words().len(), Vocabulary::digits().len(), 16);
    let (d, d_ff, n, src, tgt) = (128, 512, 3, 33, 13);
    let attention = 4 * (d * d + d); // W^Q, W^K, W^V, W^O with biases
    let feed_forward = d * d_ff + d_ff + d_ff * d + d;
    let norm = 2 * d; // gamma and beta
    let encoder = n * (attention + feed_forward + 2 * norm);
    let decoder = n * (2 * attention + feed_forward + 3 * norm);
    let expected = (src + tgt) * d + encoder + decoder + 2 * norm + d * tgt + tgt;
    assert_eq!(
        burn::module::Module::num_params(&config.init(&Device::flex())),
        expected
    );
    assert_eq!(expected, 1_396_621);
}
