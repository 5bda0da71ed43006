//! Chapter 7's suite: the data's parsing and split, naive Bayes against scikit-learn, the classifier and its
//! regimes (what is frozen stays bit-identical, the closed-form counts), LoRA (B = 0 is the base model, the merge
//! is exact), padding, checkpoints and bad input, and flex = wgpu. Small random backbones: no pretraining run is
//! needed.

use std::path::Path;

use bert::{BertConfig, BertVocab};
use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use classify::ClassifyError;
use classify::backbones::{Architecture, BackboneKind, Pretrained, TextEncoder, load_backbone};
use classify::baselines::{NaiveBayes, words};
use classify::checkpoint::{self, ClassifierSpec};
use classify::data::{Label, Message, Protocol, parse_collection, remove_duplicates, split};
use classify::experiment::ResultRow;
use classify::grid::{MeanStd, finished_row, keep_row, markdown_table, run_file, summarize};
use classify::lora::{LoraConfig, LowRank};
use classify::model::{Backbone, Classifier, Pooling, Regime, num_trainable_params};
use classify::training::{FineTuneConfig, cross_entropy, fine_tune, make_batch, predict};
use common::every_backend;
use gpt::GptConfig;
use proptest::prelude::*;
use serde::Deserialize;
use tokens::BpeTokenizer;

fn message(label: Label, text: &str) -> Message {
    Message {
        label,
        text: text.into(),
    }
}

/// Byte-level BPE with no merges: 256 byte tokens, every text encodes.
fn bytes_only() -> BpeTokenizer {
    BpeTokenizer::from_merges(Vec::new()).unwrap()
}

fn tiny_gpt(device: &Device) -> Pretrained {
    let config = GptConfig::new(256)
        .with_block_size(48)
        .with_n_layer(2)
        .with_n_head(2)
        .with_n_embd(16);
    Pretrained {
        backbone: Backbone::Gpt(config.init(device)),
        architecture: Architecture::Gpt(config),
        encoder: TextEncoder::Bpe(bytes_only()),
    }
}

fn tiny_bert(device: &Device) -> Pretrained {
    let vocab = BertVocab::new(bytes_only());
    let config = BertConfig::new(vocab.vocab_size(), 16, 2, 2, 48).with_dropout(0.0);
    Pretrained {
        backbone: Backbone::Bert(config.init(false, device)),
        architecture: Architecture::Bert(config),
        encoder: TextEncoder::Bert(vocab),
    }
}

fn a_few_messages() -> Vec<Message> {
    vec![
        message(Label::Ham, "ok see you at home"),
        message(Label::Spam, "WIN a FREE prize now, call 0800"),
        message(Label::Ham, "sorry, running late"),
        message(Label::Spam, "URGENT: claim your cash award, txt YES"),
        message(Label::Ham, "did you eat?"),
        message(Label::Spam, "You have WON a holiday! Text CLAIM to 81010"),
    ]
}

fn values(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn logits(model: &Classifier, encoder: &TextEncoder, messages: &[Message], device: &Device) -> Vec<f32> {
    let refs: Vec<&Message> = messages.iter().collect();
    let batch = make_batch(encoder, &refs, 48, device).unwrap();
    values(model.forward(batch.tokens, batch.padding))
}

// ---- data ----

#[test]
fn a_row_that_does_not_parse_is_an_error_naming_its_line() {
    let path = Path::new("sms.tsv");
    let good = "ham\tsee you\nspam\tWIN now\n";
    assert_eq!(parse_collection(good, path).unwrap().len(), 2);
    for (text, line, problem) in [
        ("ham\tsee you\nspam WIN now\n", 2, "no tab"),
        ("ham\tsee you\nSpam\tWIN now\n", 2, "the label is \"Spam\""),
        ("ham\t  \nspam\tWIN\n", 1, "empty"),
    ] {
        let error = parse_collection(text, path).unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, ClassifyError::BadRow { line: l, .. } if l == line),
            "{message}"
        );
        assert!(
            message.contains(problem) && message.contains("sms.tsv, line"),
            "{message}"
        );
    }
    let one_class = parse_collection("ham\ta\nham\tb\n", path).unwrap_err();
    assert!(one_class.to_string().contains("no spam message"), "{one_class}");
}

proptest! {
    #[test]
    fn the_split_is_stratified_disjoint_complete_and_seeded(
        ham in 10usize..300,
        spam in 10usize..80,
        seed in any::<u64>(),
    ) {
        let messages: Vec<Message> = (0..ham)
            .map(|i| message(Label::Ham, &format!("ham {i}")))
            .chain((0..spam).map(|i| message(Label::Spam, &format!("spam {i}"))))
            .collect();
        let splits = split(&messages, Protocol::Imbalanced, seed);
        let spam_in = |part: &[Message]| part.iter().filter(|m| m.label == Label::Spam).count();
        let parts = [&splits.train, &splits.val, &splits.test];
        prop_assert_eq!(parts.iter().map(|p| p.len()).sum::<usize>(), ham + spam);
        let mut all: Vec<&str> = parts.iter().flat_map(|p| p.iter().map(|m| m.text.as_str())).collect();
        all.sort_unstable();
        all.dedup();
        prop_assert_eq!(all.len(), ham + spam, "no message is in two splits");
        for (part, share) in parts.iter().zip([0.7, 0.1, 0.2]) {
            let expected = share * spam as f64;
            let got = spam_in(part);
            prop_assert!((got as f64 - expected).abs() <= 1.0, "{} spam, expected {}", got, expected);
        }
        prop_assert_eq!(split(&messages, Protocol::Imbalanced, seed).test, splits.test.clone());

        let balanced = split(&messages, Protocol::Balanced, seed);
        let total = balanced.train.len() + balanced.val.len() + balanced.test.len();
        let spam_total = spam_in(&balanced.train) + spam_in(&balanced.val) + spam_in(&balanced.test);
        prop_assert_eq!(spam_total, spam.min(ham));
        prop_assert_eq!(total, 2 * spam.min(ham));
    }
}

proptest! {
    #[test]
    fn removing_repeats_keeps_each_text_once_at_its_first_place(draws in prop::collection::vec((0usize..12, any::<bool>()), 1..60)) {
        let messages: Vec<Message> = draws
            .iter()
            .map(|&(text, spam)| message(if spam { Label::Spam } else { Label::Ham }, &format!("message {text}")))
            .collect();
        let (unique, removed) = remove_duplicates(messages.clone());
        let mut firsts: Vec<&Message> = Vec::new();
        for m in &messages {
            if !firsts.iter().any(|f| f.text == m.text) {
                firsts.push(m);
            }
        }
        prop_assert_eq!(unique.iter().collect::<Vec<_>>(), firsts);
        prop_assert_eq!(removed, messages.len() - unique.len());
        prop_assert_eq!(remove_duplicates(unique.clone()), (unique, 0));
    }
}

// ---- the grid: seeds, the summary, going on where it stopped ----

fn row(model: &str, seed: u64, spam_f1: f64) -> ResultRow {
    ResultRow {
        model: model.into(),
        regime: "full".into(),
        seed,
        trainable_params: 10,
        accuracy: 0.9,
        spam_precision: 0.8,
        spam_recall: 0.7,
        spam_f1,
        train_seconds: 5.0,
        examples_per_second: 100.0,
    }
}

#[test]
fn mean_and_sample_standard_deviation_match_numpy() {
    // numpy: np.mean([1, 2, 3, 4]) = 2.5, np.std([1, 2, 3, 4], ddof=1) = 1.2909944487358056.
    let m = MeanStd::of(&[1.0, 2.0, 3.0, 4.0]);
    assert_eq!(m.mean, 2.5);
    assert!((m.std - 1.2909944487358056).abs() < 1e-15, "{}", m.std);
    assert_eq!(MeanStd::of(&[0.7]), MeanStd { mean: 0.7, std: 0.0 });
}

#[test]
fn the_summary_has_a_row_for_each_model_and_regime_over_its_seeds() {
    let rows = [
        row("a", 1, 0.90),
        row("b", 1, 0.5),
        row("a", 2, 0.94),
        row("a", 3, 0.92),
    ];
    let summary = summarize(&rows);
    assert_eq!(summary.len(), 2);
    assert_eq!((summary[0].model.as_str(), summary[0].seeds), ("a", 3));
    assert!((summary[0].spam_f1.mean - 0.92).abs() < 1e-12 && (summary[0].spam_f1.std - 0.02).abs() < 1e-12);
    assert_eq!(
        (summary[1].model.as_str(), summary[1].seeds, summary[1].spam_f1.std),
        ("b", 1, 0.0)
    );
    let table = markdown_table(&summary);
    assert!(
        table.contains("| a | full | 10 | 3 | 90.00 ± 0.00 | 0.800 ± 0.000 | 0.700 ± 0.000 | 0.920 ± 0.020 | 5 ± 0 |"),
        "{table}"
    );
}

#[test]
fn a_grid_keeps_each_finished_run_and_refuses_one_measured_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let config = FineTuneConfig::new(BackboneKind::Minilm, Regime::Lora);
    assert_eq!(finished_row(dir.path(), &config).unwrap(), None);
    keep_row(dir.path(), &config, &row("a", config.seed, 0.9)).unwrap();
    assert_eq!(finished_row(dir.path(), &config).unwrap(), Some(row("a", 1, 0.9)));
    let mut other_seed = config.clone();
    other_seed.seed = 2;
    assert_eq!(finished_row(dir.path(), &other_seed).unwrap(), None);
    let mut longer = config.clone();
    longer.epochs = 5;
    let changed = finished_row(dir.path(), &longer).unwrap_err();
    assert!(matches!(changed, ClassifyError::GridChanged { .. }), "{changed}");
    assert!(changed.to_string().contains("another --out"), "{changed}");
    let mut third_seed = config.clone();
    third_seed.seed = 3;
    std::fs::create_dir_all(run_file(dir.path(), &third_seed)).unwrap();
    let unreadable = finished_row(dir.path(), &third_seed).unwrap_err();
    assert!(
        matches!(unreadable, ClassifyError::GridFile { .. }),
        "a file that is there but unreadable is an error: {unreadable}"
    );
    std::fs::write(dir.path().join("runs/minilm-lora-seed1.json"), "{").unwrap();
    let corrupt = finished_row(dir.path(), &config).unwrap_err();
    assert!(
        corrupt.to_string().contains("minilm-lora-seed1.json") && corrupt.to_string().contains("delete"),
        "{corrupt}"
    );
}

// ---- naive Bayes ----

#[derive(Deserialize)]
struct NaiveBayesFixture {
    train: Vec<Message>,
    test: Vec<String>,
    vocabulary: Vec<String>,
    log_prior: [f64; 2],
    log_likelihood: std::collections::HashMap<String, [f64; 2]>,
    probabilities: Vec<[f64; 2]>,
}

#[test]
fn naive_bayes_equals_scikit_learns_count_vectorizer_and_multinomial_nb() {
    // fixtures/make_sklearn_fixture.py ran scikit-learn 1.9.1 on these messages.
    let fixture: NaiveBayesFixture = serde_json::from_str(include_str!("../fixtures/naive_bayes.json")).unwrap();
    let mut vocabulary: Vec<String> = fixture.train.iter().flat_map(|m| words(&m.text)).collect();
    vocabulary.sort();
    vocabulary.dedup();
    assert_eq!(vocabulary, fixture.vocabulary);
    let bayes = NaiveBayes::fit(&fixture.train, 1.0);
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert!(close(bayes.log_prior[0], fixture.log_prior[0]) && close(bayes.log_prior[1], fixture.log_prior[1]));
    for (word, theirs) in &fixture.log_likelihood {
        let ours = bayes.log_likelihood[word];
        assert!(
            close(ours[0], theirs[0]) && close(ours[1], theirs[1]),
            "{word}: {ours:?} vs {theirs:?}"
        );
    }
    for (text, theirs) in fixture.test.iter().zip(&fixture.probabilities) {
        let ours = bayes.probabilities(text);
        assert!(
            close(ours[0], theirs[0]) && close(ours[1], theirs[1]),
            "{text}: {ours:?} vs {theirs:?}"
        );
    }
}

// ---- the classifier ----

#[test]
fn the_loss_is_the_mean_negative_log_probability_of_the_true_class() {
    let device = Device::flex();
    let logits = Tensor::<2>::from_floats([[2.0, 0.0], [0.5, 1.5], [-1.0, 1.0]], &device);
    let labels = Tensor::<1, Int>::from_ints([0, 0, 1], &device);
    let p = |a: f64, b: f64| a.exp() / (a.exp() + b.exp());
    let expected = -(p(2.0, 0.0).ln() + p(0.5, 1.5).ln() + p(1.0, -1.0).ln()) / 3.0;
    let loss = cross_entropy(logits, labels).into_scalar::<f32>() as f64;
    assert!((loss - expected).abs() < 1e-6, "{loss} vs {expected}");
}

#[test]
fn padding_never_changes_a_prediction() {
    let device = Device::flex();
    let short = message(Label::Ham, "hi");
    let long = message(
        Label::Spam,
        "a much longer message that pads the short one in its batch",
    );
    for (pretrained, pooling) in [
        (tiny_gpt(&device), Pooling::Last),
        (tiny_bert(&device), Pooling::Cls),
        (tiny_bert(&device), Pooling::Mean),
    ] {
        let model = Classifier::new(pretrained.backbone, 16, pooling, 0.0, &device);
        let alone = logits(&model, &pretrained.encoder, std::slice::from_ref(&short), &device);
        let padded = logits(&model, &pretrained.encoder, &[short.clone(), long.clone()], &device);
        let diff = max_abs_diff(&alone, &padded[..2]);
        assert!(diff < 1e-5, "{pooling:?}: padding moved the logits by {diff}");
    }
}

#[test]
fn predict_returns_each_message_its_own_probabilities_in_the_given_order() {
    let device = Device::flex();
    let pretrained = tiny_bert(&device);
    let model = Classifier::new(pretrained.backbone, 16, Pooling::Mean, 0.0, &device);
    // Lengths out of order, so that the batches (shortest first) mix the messages across the input's order.
    let mut messages = a_few_messages();
    messages.insert(
        1,
        message(
            Label::Spam,
            "a long one: WIN a prize now, call 0800 000 000 or text WIN to 80000",
        ),
    );
    messages.push(message(Label::Ham, "k"));
    let together = predict(&model, &pretrained.encoder, &messages, 48, 3, &device).unwrap();
    for (m, p) in messages.iter().zip(&together) {
        let alone = predict(&model, &pretrained.encoder, std::slice::from_ref(m), 48, 1, &device).unwrap();
        let diff = max_abs_diff(p, &alone[0]);
        assert!(diff < 1e-5, "{:?}: {p:?} in a batch, {:?} alone", m.text, alone[0]);
    }
    let distinct = together.iter().filter(|p| (p[1] - together[0][1]).abs() > 1e-4).count();
    assert!(
        distinct > 0,
        "a random model gives the messages different probabilities"
    );
}

#[test]
fn a_long_message_is_cut_to_the_limit_keeping_sep_and_an_empty_one_is_an_error() {
    let device = Device::flex();
    let encoder = tiny_bert(&device).encoder;
    let TextEncoder::Bert(vocab) = &encoder else {
        unreachable!()
    };
    let ids = encoder.encode(&"x".repeat(100), 10).unwrap();
    assert_eq!(ids.len(), 10);
    assert_eq!((ids[0], ids[9]), (vocab.special().cls, vocab.special().sep));
    assert!(matches!(encoder.encode("  ", 10), Err(ClassifyError::EmptyMessage)));
}

fn train_config(backbone: BackboneKind, regime: Regime, epochs: usize) -> FineTuneConfig {
    let mut config = FineTuneConfig::new(backbone, regime);
    config.epochs = epochs;
    config.batch_size = 3;
    config.max_len = 48;
    config.head_dropout = 0.0;
    config.lora.rank = 2;
    config
}

#[test]
fn a_tiny_classifier_overfits_a_handful_of_messages() {
    let device = Device::flex().autodiff();
    let messages = a_few_messages();
    let mut config = train_config(BackboneKind::Bert, Regime::Full, 40);
    config.learning_rate = 3e-3;
    let run = fine_tune(&config, tiny_bert(&device), &messages, &messages, &device, None, None).unwrap();
    let first = run.epochs.first().unwrap().train_loss;
    let best = &run.epochs[run.best_epoch - 1];
    assert!(
        best.val_accuracy == 1.0,
        "accuracy {} after 40 epochs",
        best.val_accuracy
    );
    assert!(
        run.epochs.last().unwrap().train_loss < first / 4.0,
        "loss {first} -> {:?}",
        run.epochs.last()
    );
}

/// Every float parameter's values, in visiting order, with its path.
fn all_params<M: Module>(model: &M) -> Vec<(String, Vec<f32>)> {
    #[derive(Default)]
    struct All {
        path: Vec<String>,
        params: Vec<(String, Vec<f32>)>,
    }
    impl ModuleVisitor for All {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.into());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let values = param.base().into_data().try_to_vec::<f32>().unwrap();
            self.params.push((self.path.join("."), values));
        }
    }
    let mut all = All::default();
    model.visit(&mut all);
    all.params
}

#[test]
fn a_frozen_backbone_is_bit_identical_after_training_and_the_head_has_moved() {
    let device = Device::flex().autodiff();
    for (kind, regime, pretrained) in [
        (BackboneKind::Gpt, Regime::Head, tiny_gpt(&device)),
        (BackboneKind::Bert, Regime::Head, tiny_bert(&device)),
        (BackboneKind::Bert, Regime::LastBlock, tiny_bert(&device)),
    ] {
        let before = all_params(&pretrained.backbone.valid());
        let messages = a_few_messages();
        let mut config = train_config(kind, regime, 2);
        config.pooling = kind.default_pooling();
        let run = fine_tune(&config, pretrained, &messages, &messages, &device, None, None).unwrap();
        let after = all_params(&run.model.backbone);
        let (mut frozen, mut moved) = (0, 0);
        for ((path, b), (_, a)) in before.iter().zip(&after) {
            let trained = regime == Regime::LastBlock && path.contains("layers.1.");
            if trained {
                moved += usize::from(a != b);
            } else {
                assert!(a == b, "{kind:?} {regime:?}: frozen {path} changed");
                frozen += 1;
            }
        }
        assert!(frozen > 0);
        assert_eq!(
            moved > 0,
            regime == Regime::LastBlock,
            "{kind:?} {regime:?}: the last block moved: {moved}"
        );
    }
}

#[test]
fn each_regime_trains_exactly_its_closed_form_count_of_parameters() {
    let device = Device::flex().autodiff();
    let lora = LoraConfig {
        rank: 3,
        ..LoraConfig::default()
    };
    for make in [tiny_gpt, tiny_bert] {
        for regime in [Regime::Head, Regime::LastBlock, Regime::Full, Regime::Lora] {
            let pretrained = make(&device);
            let expected = pretrained.architecture.size().trainable(regime, &lora);
            let model = Classifier::new(pretrained.backbone, 16, Pooling::Mean, 0.0, &device).for_regime(regime, &lora);
            assert_eq!(
                num_trainable_params(&model),
                expected,
                "{:?} {regime:?}",
                pretrained.architecture
            );
        }
    }
    // MiniLM-L6 (d = 384, 6 layers) with r = 8 on W^Q and W^V: 6 * 2 * 8 * 768 = 73,728 plus the head's 770.
    let minilm = BertConfig::new(30522, 384, 6, 12, 512);
    let size = Architecture::Bert(minilm).size();
    assert_eq!(size.trainable(Regime::Lora, &LoraConfig::default()), 73_728 + 770);
    // Its 22,713,216 parameters less the [CLS] pooler (384^2 + 384), which the classifier leaves out.
    assert_eq!(
        size.trainable(Regime::Full, &LoraConfig::default()),
        22_713_216 - 147_840 + 770
    );
}

/// The memory a run states before it starts: MiniLM-L6 fine-tuned whole holds its weights four times over (with
/// their gradients and AdamW's moments) and the activations of 16 x 128 positions in its 6 layers; with the head
/// alone, the weights once and one layer's activations; and the activations grow with the batch.
#[test]
fn the_memory_estimate_counts_the_trained_weights_and_the_activations() {
    let minilm = Architecture::Bert(BertConfig::new(30522, 384, 6, 12, 512));
    let estimate = |regime, batch_size| {
        let mut config = FineTuneConfig::new(BackboneKind::Minilm, regime);
        config.batch_size = batch_size;
        config.training_memory_bytes(&minilm)
    };
    let total = minilm.size().total as u64;
    // Per position: 10 d + 2 d_ff + 3 h t = 3,840 + 3,072 + 4,608 floats, for 16 x 128 positions in a layer.
    let layer_activations = 16 * 128 * (3_840 + 3_072 + 4_608) * 4;
    let full_trainable = minilm.size().trainable(Regime::Full, &LoraConfig::default()) as u64;
    assert_eq!(
        estimate(Regime::Full, 16),
        6 * layer_activations + 4 * (total + 3 * full_trainable)
    );
    assert_eq!(estimate(Regime::Head, 16), layer_activations + 4 * (total + 3 * 770));
    assert!(estimate(Regime::Head, 16) < estimate(Regime::LastBlock, 16));
    assert!(estimate(Regime::LastBlock, 16) < estimate(Regime::Lora, 16));
    assert!(estimate(Regime::Lora, 16) < estimate(Regime::Full, 16));
    assert_eq!(
        estimate(Regime::Full, 32) - estimate(Regime::Full, 16),
        6 * layer_activations
    );
}

/// The one `LowRank` adapter's factors and the base weight of the first layer's W^Q.
fn first_query(model: &Classifier) -> (Tensor<2>, Option<(Tensor<2>, Tensor<2>, f64)>) {
    let Backbone::Bert(bert) = &model.backbone else {
        unreachable!()
    };
    let weight = &bert.layers[0].self_attention.w_q.weight;
    let adapter = weight
        .reparameterization::<LowRank>()
        .map(|a| (a.a.val(), a.b.val(), a.scale));
    (weight.base(), adapter)
}

/// `model` after one AdamW step on `messages` (learning rate 0.01), out of autodiff.
fn one_step(model: Classifier, encoder: &TextEncoder, messages: &[Message], device: &Device) -> Classifier {
    let refs: Vec<&Message> = messages.iter().collect();
    let batch = make_batch(encoder, &refs, 48, device).unwrap();
    let loss = cross_entropy(model.forward(batch.tokens, batch.padding), batch.labels);
    let grads = burn::optim::GradientsParams::from_grads(loss.backward(), &model);
    let mut optimizer = common::train::adamw(&burn::optim::AdamWConfig::new(), &model);
    optimizer.step(1e-2, model, grads).valid()
}

#[test]
fn lora_starts_as_the_base_model_and_merging_it_changes_no_output() {
    let device = Device::flex().autodiff();
    let inference = device.clone().inner();
    let messages = a_few_messages();
    let pretrained = tiny_bert(&device);
    let encoder = pretrained.encoder.clone();
    let base = Classifier::new(pretrained.backbone, 16, Pooling::Mean, 0.0, &device);
    let lora = LoraConfig {
        rank: 2,
        ..LoraConfig::default()
    };
    let adapted = base.clone().for_regime(Regime::Lora, &lora);
    let base_out = logits(&base.valid(), &encoder, &messages, &inference);
    assert_eq!(
        base_out,
        logits(&adapted.valid(), &encoder, &messages, &inference),
        "B = 0: the adapted model is the base model, bit for bit"
    );

    let trained = one_step(adapted, &encoder, &messages, &device);
    let (w, factors) = first_query(&trained);
    let (a, b, scale) = factors.expect("W^Q carries an adapter");
    assert!(values(b.clone()).iter().any(|&x| x != 0.0), "the step moved B");
    let merged = trained.clone().materialize();
    let (merged_w, none) = first_query(&merged);
    assert!(none.is_none(), "the merged model has no adapter left");
    let by_hand = w + a.matmul(b).mul_scalar(scale);
    assert!(
        max_abs_diff(&values(merged_w), &values(by_hand)) < 1e-7,
        "merged W = W + (alpha/r) A B"
    );
    let (unmerged_out, merged_out) = (
        logits(&trained, &encoder, &messages, &inference),
        logits(&merged, &encoder, &messages, &inference),
    );
    assert!(
        max_abs_diff(&unmerged_out, &merged_out) < 1e-6,
        "merging changes no output"
    );
    assert!(max_abs_diff(&unmerged_out, &base_out) > 1e-6, "the adapters matter");
    assert_eq!(
        all_params(&merged).len(),
        all_params(&base.valid()).len(),
        "no parameter is added by the merge"
    );
}

#[test]
fn a_checkpoint_predicts_what_the_model_did_and_other_directories_are_refused_clearly() {
    let device = Device::flex().autodiff();
    let messages = a_few_messages();
    let dir = tempfile::tempdir().unwrap();
    let config = train_config(BackboneKind::Gpt, Regime::Lora, 1);
    let pretrained = tiny_gpt(&device);
    let (encoder, architecture) = (pretrained.encoder.clone(), pretrained.architecture.clone());
    let spec = ClassifierSpec {
        backbone: BackboneKind::Gpt,
        architecture,
        pooling: Pooling::Last,
        max_len: 48,
    };
    let run = fine_tune(
        &config,
        pretrained,
        &messages,
        &messages,
        &device,
        None,
        Some(dir.path()),
    )
    .unwrap();
    let inference = device.clone().inner();
    let (loaded, loaded_encoder, state) = checkpoint::load(dir.path(), &inference).unwrap();
    assert_eq!(state.classifier, spec);
    let before = predict(&run.model, &encoder, &messages, 48, 4, &inference).unwrap();
    let after = predict(&loaded, &loaded_encoder, &messages, 48, 4, &inference).unwrap();
    assert_eq!(before, after);

    // A pretraining run is not a classifier; a BERT run is not a GPT.
    let bert_run = tempfile::tempdir().unwrap();
    let bert_task = bert::MaskedLanguageModeling::on_given_batches(
        bert::RunConfig::named("tiny").unwrap(),
        BertVocab::new(bytes_only()),
    );
    bert::training::trainer(bert_task, &device)
        .save(bert_run.path())
        .unwrap();
    let not_a_classifier = checkpoint::load(bert_run.path(), &inference).err().unwrap();
    assert!(
        matches!(not_a_classifier, ClassifyError::NotAClassifier { .. }),
        "{not_a_classifier}"
    );
    assert!(
        not_a_classifier.to_string().contains("`classify train --gpt DIR`"),
        "{not_a_classifier}"
    );
    let wrong = load_backbone(BackboneKind::Gpt, Some(bert_run.path()), &device)
        .err()
        .unwrap();
    assert!(matches!(wrong, ClassifyError::WrongBackbone { .. }), "{wrong}");
    assert!(wrong.to_string().contains("with byte-level BPE"), "{wrong}");
    // Each says whose checkpoint it is rather than calling it damaged.
    let bert_kind = "holds a checkpoint of chapter 6's BERT (`bert pretrain`), not of";
    for error in [not_a_classifier.to_string(), wrong.to_string()] {
        assert!(error.contains(bert_kind) && !error.contains("damaged"), "{error}");
    }
    let as_bert = bert::training::load_checkpoint(dir.path(), &inference)
        .err()
        .unwrap()
        .to_string();
    assert!(
        as_bert.contains("holds a checkpoint of chapter 7's classifier (`classify train`), not of chapter 6's BERT"),
        "{as_bert}"
    );
}

#[test]
fn a_classifier_on_flex_and_on_wgpu_gives_the_same_logits_and_step() {
    let messages = a_few_messages();
    let pretrained = tiny_bert(&Device::flex());
    let record = Classifier::new(pretrained.backbone, 16, Pooling::Mean, 0.0, &Device::flex()).into_record();
    let results: Vec<(Vec<f32>, Vec<f32>)> = every_backend()
        .into_iter()
        .map(|(_, device)| {
            let device = device.autodiff();
            let fresh = Classifier::new(tiny_bert(&device).backbone, 16, Pooling::Mean, 0.0, &device);
            let model = fresh.load_record(record.clone());
            let out = logits(&model.valid(), &pretrained.encoder, &messages, &device.clone().inner());
            let stepped = one_step(model, &pretrained.encoder, &messages, &device);
            let Backbone::Bert(bert) = &stepped.backbone else {
                unreachable!()
            };
            (out, values(bert.layers[1].self_attention.w_v.weight.val()))
        })
        .collect();
    let (flex, wgpu) = (&results[0], &results[1]);
    assert!(max_abs_diff(&flex.0, &wgpu.0) < 1e-4, "logits differ");
    assert!(max_abs_diff(&flex.1, &wgpu.1) < 1e-5, "weights after one step differ");
}

/// A checkpoint's files are checked as a whole when loaded: a state.json naming another kind of backbone than its
/// architecture (it panicked in `predict`), and a tokenizer copied from another classifier (it answered confidently
/// from the wrong token ids), are errors naming the file.
#[test]
fn a_checkpoint_whose_files_do_not_belong_together_is_refused() {
    let device = Device::flex().autodiff();
    let messages = a_few_messages();
    let (gpt_dir, bert_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let gpt_config = train_config(BackboneKind::Gpt, Regime::Head, 1);
    fine_tune(
        &gpt_config,
        tiny_gpt(&device),
        &messages,
        &messages,
        &device,
        None,
        Some(gpt_dir.path()),
    )
    .unwrap();
    let bert_config = train_config(BackboneKind::Bert, Regime::Head, 1);
    fine_tune(
        &bert_config,
        tiny_bert(&device),
        &messages,
        &messages,
        &device,
        None,
        Some(bert_dir.path()),
    )
    .unwrap();
    let inference = Device::flex();
    checkpoint::load(bert_dir.path(), &inference).unwrap();

    let tokenizer = |dir: &Path| dir.join(checkpoint::TOKENIZER_FILE);
    let bert_tokenizer = std::fs::read(tokenizer(bert_dir.path())).unwrap();
    std::fs::copy(tokenizer(gpt_dir.path()), tokenizer(bert_dir.path())).unwrap();
    let error = checkpoint::load(bert_dir.path(), &inference).err().unwrap().to_string();
    assert!(
        error.contains("tokenizer.txt") && error.contains("not the tokenizer"),
        "{error}"
    );
    std::fs::write(tokenizer(bert_dir.path()), bert_tokenizer).unwrap();

    let state_file = bert_dir.path().join(common::train::checkpoint::STATE_FILE);
    let state = std::fs::read_to_string(&state_file).unwrap();
    std::fs::write(
        &state_file,
        state.replacen("\"backbone\": \"bert\"", "\"backbone\": \"gpt\"", 1),
    )
    .unwrap();
    let error = checkpoint::load(bert_dir.path(), &inference).err().unwrap().to_string();
    assert!(
        error.contains("state.json") && error.contains("names a gpt backbone"),
        "{error}"
    );
}
