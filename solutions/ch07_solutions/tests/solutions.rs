//! The answers to chapter 7's exercises, checked.

use bert::{BertConfig, BertVocab};
use burn::prelude::*;
use ch07_solutions::{rank_sweep, threshold_for_precision, weighted_cross_entropy};
use classify::backbones::{Architecture, BackboneKind, Pretrained, TextEncoder};
use classify::data::{Label, Message};
use classify::lora::LoraConfig;
use classify::model::{Backbone, Regime};
use classify::training::{FineTuneConfig, cross_entropy};
use common::metrics::precision_recall_curve;
use tokens::BpeTokenizer;

#[test]
fn weighted_cross_entropy_is_the_plain_one_with_equal_weights_and_weighs_each_class() {
    let device = Device::flex();
    let logits = Tensor::<2>::from_floats([[2.0, 0.0], [0.5, 1.5], [-1.0, 1.0]], &device);
    let labels = Tensor::<1, Int>::from_ints([0, 0, 1], &device);
    let plain = cross_entropy(logits.clone(), labels.clone()).into_scalar::<f32>();
    let equal = weighted_cross_entropy(logits.clone(), labels.clone(), [3.0, 3.0]).into_scalar::<f32>();
    assert!((plain - equal).abs() < 1e-6);
    let p = |a: f32, b: f32| a.exp() / (a.exp() + b.exp());
    let by_hand = -(p(2.0, 0.0).ln() + p(0.5, 1.5).ln() + 4.0 * p(1.0, -1.0).ln()) / 6.0;
    let weighted = weighted_cross_entropy(logits, labels, [1.0, 4.0]).into_scalar::<f32>();
    assert!((weighted - by_hand).abs() < 1e-6, "{weighted} vs {by_hand}");
}

#[test]
fn the_chosen_threshold_keeps_the_precision_and_finds_the_most() {
    let positive = [true, true, false, true, false, true, false, false];
    let scores = [0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.3, 0.1];
    let curve = precision_recall_curve(&positive, &scores);
    let chosen = threshold_for_precision(&curve, 0.75).unwrap();
    // At 0.7: 3 of 4 flagged are spam (precision 0.75), recall 3/4; at 0.5 precision falls to 4/6.
    assert_eq!((chosen.threshold, chosen.precision, chosen.recall), (0.7, 0.75, 0.75));
    assert_eq!(threshold_for_precision(&curve, 1.0).unwrap().threshold, 0.9);
    assert!(threshold_for_precision(&precision_recall_curve(&[false, true], &[0.9, 0.1]), 0.9).is_none());
}

#[test]
fn a_rank_sweep_costs_the_closed_form_and_trains_at_every_rank() {
    let device = Device::flex().autodiff();
    let vocab = BertVocab::new(BpeTokenizer::from_merges(Vec::new()).unwrap());
    let config = BertConfig::new(vocab.vocab_size(), 16, 2, 2, 48).with_dropout(0.0);
    let backbone = || Pretrained {
        backbone: Backbone::Bert(config.init(false, &device)),
        architecture: Architecture::Bert(config.clone()),
        encoder: TextEncoder::Bert(vocab.clone()),
    };
    let message = |label, text: &str| Message {
        label,
        text: text.into(),
    };
    let messages = vec![
        message(Label::Ham, "see you at home"),
        message(Label::Spam, "WIN a FREE prize, call now"),
        message(Label::Ham, "running late, sorry"),
        message(Label::Spam, "claim your cash award today"),
    ];
    let mut fine_tune = FineTuneConfig::new(BackboneKind::Bert, Regime::Lora);
    fine_tune.epochs = 2;
    fine_tune.batch_size = 2;
    let results = rank_sweep(&fine_tune, backbone, &[1, 2, 4], &messages, &messages, &device).unwrap();
    let size = Architecture::Bert(config.clone()).size();
    for result in &results {
        let lora = LoraConfig {
            rank: result.rank,
            ..LoraConfig::default()
        };
        assert_eq!(result.trainable_params, size.trainable(Regime::Lora, &lora));
        assert!((0.0..=1.0).contains(&result.best_val_spam_f1));
    }
    // 2 layers x 2 projections x r x (16 + 16), plus the head's 34.
    assert_eq!(
        results.iter().map(|r| r.trainable_params).collect::<Vec<_>>(),
        [162, 290, 546]
    );
}
