//! The model and the objective by their properties: the masking recipe's proportions, the loss over the chosen
//! positions only, a bidirectional encoder whose padding changes nothing, the tied head and the parameter count in
//! closed form, gradients against finite differences, a batch overfitted, and flex = wgpu for a training step.

use bert::data::{sequences, split_text};
use bert::masking::{Masked, MaskedBatch, MaskingConfig, SpecialTokens, mask_tokens, masked_lm_loss};
use bert::model::{BertForMaskedLm, padding_mask};
use bert::pretrained::load_masked_lm;
use bert::training::{MaskedLanguageModeling, trainer, trainer_from};
use bert::training::{RunConfig, TrainingConfig, evaluation_masks};
use bert::{BertConfig, BertVocab};
use burn::module::Module;
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use common::rng::SplitMix64;
use common::testing::{assert_input_gradient_matches_finite_differences, backends, max_abs_diff, values};
use common::train::Task;
use proptest::prelude::*;
use tokens::BpeTokenizer;

const SPECIAL: SpecialTokens = SpecialTokens {
    pad: 0,
    unk: 1,
    cls: 2,
    sep: 3,
    mask: 4,
};
const VOCAB: usize = 50;

/// `k` standard deviations of a binomial count of `n` draws with probability `p`, around its mean.
fn within_binomial(count: usize, n: usize, p: f64, k: f64) -> bool {
    let (mean, sd) = (n as f64 * p, (n as f64 * p * (1.0 - p)).sqrt());
    (count as f64 - mean).abs() <= k * sd
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// 15% chosen; of those 80% [MASK], 10% random, 10% kept: each count within 5 standard deviations of its
    /// binomial mean, whatever the seed.
    #[test]
    fn masking_proportions_are_within_binomial_bounds(seed in any::<u64>()) {
        let tokens: Vec<u32> = (0..20_000).map(|i| 5 + (i * 7 % 45) as u32).collect();
        let masked = mask_tokens(&tokens, &SPECIAL, VOCAB, &MaskingConfig::new(), &mut SplitMix64::new(seed));
        let chosen: Vec<usize> = (0..tokens.len()).filter(|&i| masked.targets[i].is_some()).collect();
        let to_mask = chosen.iter().filter(|&&i| masked.inputs[i] == SPECIAL.mask).count();
        let kept = chosen.iter().filter(|&&i| masked.inputs[i] == tokens[i]).count();
        let to_random = chosen.len() - to_mask - kept;
        prop_assert!(within_binomial(chosen.len(), tokens.len(), 0.15, 5.0), "chosen {}", chosen.len());
        prop_assert!(within_binomial(to_mask, chosen.len(), 0.8, 5.0), "[MASK] {to_mask} of {}", chosen.len());
        // A random replacement may draw the token itself (1 in 45): "kept" is then a little over 10%.
        prop_assert!(within_binomial(kept, chosen.len(), 0.1 + 0.1 / 45.0, 5.0), "kept {kept}");
        prop_assert!(within_binomial(to_random, chosen.len(), 0.1 * 44.0 / 45.0, 5.0), "random {to_random}");
    }

    /// Special tokens are never chosen and never a random replacement; unchosen positions are untouched and have
    /// no target.
    #[test]
    fn special_tokens_are_never_chosen_and_unchosen_tokens_are_untouched(
        tokens in proptest::collection::vec(0u32..VOCAB as u32, 1..200),
        seed in any::<u64>(),
    ) {
        let masked = mask_tokens(&tokens, &SPECIAL, VOCAB, &MaskingConfig::new(), &mut SplitMix64::new(seed));
        for (i, &token) in tokens.iter().enumerate() {
            match masked.targets[i] {
                Some(target) => {
                    prop_assert_eq!(target, token);
                    prop_assert!(!SPECIAL.contains(token));
                    prop_assert!(masked.inputs[i] == SPECIAL.mask || !SPECIAL.contains(masked.inputs[i]));
                }
                None => prop_assert_eq!(masked.inputs[i], token),
            }
        }
    }

    /// The batch scores exactly the chosen positions, at their row in the flattened, padded batch.
    #[test]
    fn a_batch_scores_exactly_the_chosen_positions(
        lengths in proptest::collection::vec(1usize..30, 1..6),
        seed in any::<u64>(),
    ) {
        let mut rng = SplitMix64::new(seed);
        let sequences: Vec<Masked> = lengths
            .iter()
            .map(|&n| {
                let tokens: Vec<u32> = (0..n).map(|_| 5 + rng.below(VOCAB - 5) as u32).collect();
                mask_tokens(&tokens, &SPECIAL, VOCAB, &MaskingConfig::new().with_mask_prob(0.5), &mut rng)
            })
            .collect();
        let batch = MaskedBatch::new(&sequences, SPECIAL.pad, &Device::flex());
        let t = *lengths.iter().max().unwrap();
        let expected: Vec<(i64, i64)> = sequences
            .iter()
            .enumerate()
            .flat_map(|(b, s)| {
                s.targets.iter().enumerate().filter_map(move |(i, t_)| t_.map(|x| ((b * t + i) as i64, x as i64)))
            })
            .collect();
        let positions = batch.positions.into_data().convert::<i64>().try_to_vec::<i64>().unwrap();
        let targets = batch.targets.into_data().convert::<i64>().try_to_vec::<i64>().unwrap();
        if expected.is_empty() {
            prop_assert_eq!(positions.len(), 1, "a batch without a chosen token scores one position");
        } else {
            prop_assert_eq!(positions.into_iter().zip(targets).collect::<Vec<_>>(), expected);
        }
    }
}

fn tiny_config() -> BertConfig {
    BertConfig::new(VOCAB, 16, 2, 2, 24).with_dropout(0.0)
}

fn ints(ids: &[u32], device: &Device) -> Tensor<2, Int> {
    let ids: Vec<i64> = ids.iter().map(|&id| id as i64).collect();
    Tensor::<1, Int>::from_ints(ids.as_slice(), device).reshape([1, ids.len()])
}

#[test]
fn the_loss_is_the_mean_over_chosen_positions_and_padding_adds_nothing() {
    let device = Device::flex();
    device.seed(3);
    let model = tiny_config().init_masked_lm(&device);
    let short = Masked {
        inputs: vec![2, 4, 9, 4, 11, 3],
        targets: vec![None, Some(7), None, Some(8), None, None],
    };
    // A longer sequence with nothing chosen: it pads the short one and adds no term to the loss.
    let long = Masked {
        inputs: vec![2, 5, 6, 7, 8, 9, 10, 11, 12, 3],
        targets: vec![None; 10],
    };
    let loss_of = |sequences: &[Masked]| {
        let batch = MaskedBatch::new(sequences, SPECIAL.pad, &device);
        masked_lm_loss(
            model.forward_at(batch.inputs, Some(batch.padding), batch.positions),
            batch.targets,
        )
        .into_scalar::<f32>()
    };
    // The loss by hand from the logits at every position: the mean of -log p(target) over positions 1 and 3.
    let logits = model.forward(ints(&short.inputs, &device), None);
    let log_p = values(log_softmax(logits, 2));
    let by_hand = -(log_p[VOCAB + 7] + log_p[3 * VOCAB + 8]) / 2.0;
    let alone = loss_of(std::slice::from_ref(&short));
    assert!((alone - by_hand).abs() < 1e-5, "loss {alone}, by hand {by_hand}");
    let padded = loss_of(&[short, long]);
    assert!(
        (padded - alone).abs() < 1e-5,
        "padding changed the loss from {alone} to {padded}"
    );
}

#[test]
fn the_encoder_is_bidirectional_and_padding_changes_no_real_position() {
    let device = Device::flex();
    device.seed(5);
    let bert = tiny_config().init(false, &device);
    let a = bert.forward(ints(&[2, 10, 11, 12, 3], &device), None, None);
    let b = bert.forward(ints(&[2, 10, 11, 13, 3], &device), None, None);
    // Position 1 reads position 3: unlike chapter 5's causal GPT, a later token changes an earlier output.
    let first = |x: Tensor<3>| values(x.slice([0..1, 1..2]));
    assert!(max_abs_diff(&first(a.clone()), &first(b)) > 1e-3);

    let tokens = ints(&[2, 10, 11, 12, 3, 0, 0, 0], &device);
    let padded = bert.forward(tokens.clone(), None, Some(padding_mask(&tokens, 0)));
    let diff = max_abs_diff(&values(a), &values(padded.slice([0..1, 0..5])));
    assert!(diff < 1e-5, "padding changed real positions by {diff}");
}

#[test]
fn the_head_is_tied_and_the_parameter_count_has_its_closed_form() {
    let device = Device::flex();
    let config = tiny_config();
    let model = config.init_masked_lm(&device);
    // With an untied decoder there would be V * d more parameters.
    assert_eq!(
        model.num_params(),
        config.num_encoder_params() + config.num_mlm_head_params()
    );
    let with_pooler = config.init(true, &device);
    let d = config.hidden_size;
    assert_eq!(with_pooler.num_params(), config.num_encoder_params() + d * d + d);
    // BERT-base's published size: 110M (109,482,240 in transformers' BertModel with its pooler).
    let base = BertConfig::new(30_522, 768, 12, 12, 512);
    assert_eq!(base.num_encoder_params() + 768 * 768 + 768, 109_482_240);
}

#[test]
fn a_bert_layer_input_gradient_matches_finite_differences() {
    let device = Device::flex().autodiff();
    device.seed(7);
    let bert = tiny_config().init(false, &device);
    let layer = &bert.layers[0];
    assert_input_gradient_matches_finite_differences(&device, [2, 5, 16], |x| layer.forward(x, None), "BERT layer");
}

#[test]
fn a_tiny_bert_overfits_one_batch() {
    let device = Device::flex().autodiff();
    let mut config = RunConfig::named("tiny").unwrap();
    config.model = BertConfig::new(261, 32, 2, 2, 16).with_dropout(0.0);
    config.training.bpe_vocab_size = 256;
    config.training.learning_rate = 3e-3;
    config.training.min_lr = 3e-3;
    config.training.warmup_iters = 0;
    config.training.max_iters = 150;
    let vocab = BertVocab::new(BpeTokenizer::from_merges(Vec::new()).unwrap());
    let mut trainer = trainer(MaskedLanguageModeling::on_given_batches(config, vocab), &device);
    let sequences = vec![
        Masked {
            inputs: vec![258, 260, 70, 80, 260, 259],
            targets: vec![None, Some(60), None, None, Some(90), None],
        },
        Masked {
            inputs: vec![258, 40, 260, 259],
            targets: vec![None, None, Some(50), None],
        },
    ];
    let mut loss = f32::NAN;
    for _ in 0..150 {
        loss = trainer
            .train_step_on(MaskedBatch::new(&sequences, 256, &device))
            .into_scalar::<f32>();
    }
    assert!(loss < 0.05, "loss after 150 steps on one batch: {loss}");
}

#[test]
fn a_training_step_on_flex_equals_the_same_step_on_wgpu() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny_bert_mlm");
    let sequences = vec![Masked {
        inputs: vec![2, 4, 30, 41, 4, 3],
        targets: vec![None, Some(58), None, None, Some(90), None],
    }];
    let results: Vec<(f32, Vec<f32>)> = backends()
        .iter()
        .map(|(_, device)| {
            let device = device.clone().autodiff();
            let (model_config, model) = load_masked_lm(&folder, &device).unwrap();
            let mut config = RunConfig::named("tiny").unwrap();
            config.model = model_config;
            let vocab = BertVocab::new(BpeTokenizer::from_merges(Vec::new()).unwrap());
            let mut trainer = trainer_from(MaskedLanguageModeling::on_given_batches(config, vocab), model, &device);
            let loss = trainer
                .train_step_on(MaskedBatch::new(&sequences, 0, &device))
                .into_scalar::<f32>();
            (
                loss,
                values(trainer.model.valid().bert.layers[1].feed_forward.linear_2.weight.val()),
            )
        })
        .collect();
    let (flex, wgpu) = (&results[0], &results[1]);
    assert!((flex.0 - wgpu.0).abs() < 1e-4, "losses {} and {}", flex.0, wgpu.0);
    let diff = max_abs_diff(&flex.1, &wgpu.1);
    assert!(diff < 1e-5, "weights after one step differ by {diff}");
}

const TEXT: &str = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n\
                    First Citizen:\nYou are all resolved rather to die than to famish?\n\nAll:\nResolved. resolved.\n";

#[test]
fn sequences_hold_the_lines_between_cls_and_sep_within_the_context() {
    let vocab = BertVocab::new(BpeTokenizer::train(TEXT, 300).unwrap());
    let special = vocab.special();
    assert_eq!(
        special.pad as usize,
        vocab.bpe.vocab_size(),
        "the special tokens come after the BPE's ids"
    );
    for max_len in [12, 20, 64] {
        let all = sequences(TEXT, &vocab, max_len);
        let mut content = Vec::new();
        for s in &all {
            assert!(s.len() <= max_len);
            assert_eq!((s[0], *s.last().unwrap()), (special.cls, special.sep));
            content.extend_from_slice(&s[1..s.len() - 1]);
        }
        // The sequences hold the text line by line, each line cut to the context if it is longer.
        let lines: Vec<u32> = TEXT
            .split_inclusive('\n')
            .flat_map(|line| vocab.bpe.encode(line).into_iter().take(max_len - 2))
            .collect();
        assert_eq!(content, lines, "max_len {max_len}");
    }
    let (train, val) = split_text(TEXT);
    assert_eq!(format!("{train}{val}"), TEXT);
    assert!(train.ends_with('\n') && !val.is_empty());
}

#[test]
fn masks_are_the_same_for_a_seed_and_new_at_every_step() {
    let vocab = BertVocab::new(BpeTokenizer::train(TEXT, 300).unwrap());
    let config = RunConfig {
        model: BertConfig::new(305, 16, 1, 2, 32),
        training: TrainingConfig {
            bpe_vocab_size: 300,
            ..RunConfig::named("tiny").unwrap().training
        },
    };
    let data = sequences(TEXT, &vocab, 32);
    assert_eq!(
        evaluation_masks(&data, &vocab, &config),
        evaluation_masks(&data, &vocab, &config)
    );
    let device = Device::flex();
    let mut task = MaskedLanguageModeling::new(config, vocab, data.clone(), &data).unwrap();
    let mut inputs = |step| values(task.batch(step, &device).unwrap().inputs.float());
    assert_eq!(inputs(3), inputs(3));
    assert_ne!(inputs(3), inputs(4), "each step draws its own sequences and masks");
}

#[test]
fn fill_text_marks_masks_and_names_special_tokens() {
    let vocab = BertVocab::new(BpeTokenizer::train(TEXT, 300).unwrap());
    let s = vocab.special();
    let ids = vocab.encode_with_masks("All: [MASK] speak.");
    assert_eq!((ids[0], *ids.last().unwrap()), (s.cls, s.sep));
    assert_eq!(ids.iter().filter(|&&id| id == s.mask).count(), 1);
    assert_eq!(vocab.token_text(s.mask), "[MASK]");
    // The space before [MASK] belongs to the hidden token: "All: [MASK]" is "All:" then the mask, as in
    // "All: speak" the token " speak" follows "All:".
    let before: Vec<u32> = ids[1..].iter().take_while(|&&id| id != s.mask).copied().collect();
    assert_eq!(before, vocab.bpe.encode("All:"));
    let model: BertForMaskedLm = BertConfig::new(vocab.vocab_size(), 16, 1, 2, 8).init_masked_lm(&Device::flex());
    let long = vocab.encode_with_masks("All: speak, speak, [MASK] speak, speak, speak.");
    let err = bert::inference::fill_masks(&model, &long, s.mask, 5, &Device::flex()).unwrap_err();
    assert!(err.to_string().contains("reads at most 8"), "{err}");
    let unmasked = vocab.encode_with_masks("All: speak.");
    let err = bert::inference::fill_masks(&model, &unmasked, s.mask, 5, &Device::flex()).unwrap_err();
    assert!(err.to_string().contains("the text has no [MASK]"), "{err}");
}
