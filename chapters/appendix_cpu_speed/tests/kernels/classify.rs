//! Chapter 7's classifier on the kernels against chapter 7's code: without dropout the same class scores and
//! gradients on both backends, for a BERT and a GPT backbone; the same training steps in the kit's loop, each batch
//! in one slice or two; a frozen backbone's dropout stays off, as burn's layer leaves it.

use crate::assert_trains_as;
use bert::{BertConfig, BertVocab};
use burn::module::Module;
use burn::prelude::*;
use classify::backbones::{Architecture, BackboneKind, Pretrained, TextEncoder};
use classify::data::{Label, Message};
use classify::model::{Backbone, Classifier, Pooling, Regime};
use classify::training::{FineTuneConfig, cross_entropy, make_batch, trainer};
use common::testing::{backends, max_abs_diff, values};
use common::train::Task;
use cpu_speed::classify::{logits, with_shards};
use cpu_speed::dropout::DropoutKeys;
use gpt::GptConfig;
use tokens::BpeTokenizer;

/// Byte-level BPE with no merges: 256 byte tokens, every text encodes.
fn bytes_only() -> BpeTokenizer {
    BpeTokenizer::from_merges(Vec::new()).unwrap()
}

/// A BERT of width 16 whose dropouts are `dropout`, on bytes.
fn tiny_bert(dropout: f64, device: &Device) -> Pretrained {
    let vocab = BertVocab::new(bytes_only());
    let config = BertConfig::new(vocab.vocab_size(), 16, 2, 2, 48).with_dropout(dropout);
    Pretrained {
        backbone: Backbone::Bert(config.init(false, device)),
        architecture: Architecture::Bert(config),
        encoder: TextEncoder::Bert(vocab),
    }
}

/// A GPT of width 16 whose dropouts are `dropout`, on bytes.
fn tiny_gpt(dropout: f64, device: &Device) -> Pretrained {
    let config = GptConfig::new(256)
        .with_block_size(48)
        .with_n_layer(2)
        .with_n_head(2)
        .with_n_embd(16)
        .with_dropout(dropout);
    Pretrained {
        backbone: Backbone::Gpt(config.init(device)),
        architecture: Architecture::Gpt(config),
        encoder: TextEncoder::Bpe(bytes_only()),
    }
}

/// Eight messages of different lengths, so that every batch and slice pads some rows.
fn messages() -> Vec<Message> {
    let texts = [
        (Label::Ham, "ok see you at home"),
        (Label::Spam, "WIN a FREE prize now, call 0800"),
        (Label::Ham, "sorry, running late"),
        (Label::Spam, "URGENT: claim your cash award, txt YES"),
        (Label::Ham, "did you eat?"),
        (Label::Spam, "You have WON a holiday! Text CLAIM to 81010"),
        (Label::Ham, "k"),
        (Label::Ham, "see you tomorrow then, bring the book"),
    ];
    texts
        .into_iter()
        .map(|(label, text)| Message {
            label,
            text: text.into(),
        })
        .collect()
}

/// Without dropout, the kernels compute chapter 7's function: class scores within 1e-5 and the loss's gradient for
/// the first layer's query weights within 1e-5, on both backends, for either kind of backbone and each pooling.
#[test]
fn without_dropout_the_kernels_give_chapter_7s_scores_and_gradients() {
    for (name, device) in backends() {
        let device = device.clone().autodiff();
        device.seed(5);
        let backbones = [
            (tiny_bert(0.0, &device), Pooling::Mean),
            (tiny_bert(0.0, &device), Pooling::Cls),
            (tiny_gpt(0.0, &device), Pooling::Last),
        ];
        for (pretrained, pooling) in backbones {
            let messages = messages();
            let refs: Vec<&Message> = messages.iter().collect();
            let batch = make_batch(&pretrained.encoder, &refs, 48, &device).unwrap();
            let model = Classifier::new(pretrained.backbone, 16, pooling, 0.0, &device);
            let scores_and_gradient = |scores: Tensor<2>| {
                let grads = cross_entropy(scores.clone(), batch.labels.clone()).backward();
                let weight = match &model.backbone {
                    Backbone::Bert(bert) => bert.layers[0].self_attention.w_q.weight.val(),
                    Backbone::Gpt(gpt) => gpt.blocks[0].attention.w_q.weight.val(),
                };
                (
                    values(scores),
                    values(weight.grad(&grads).expect("the weight takes part")),
                )
            };
            let plain = scores_and_gradient(model.forward(batch.tokens.clone(), batch.padding.clone()));
            let mut keys = DropoutKeys::new(1, 0).for_slice(0);
            let fast = scores_and_gradient(logits(&model, batch.tokens.clone(), batch.padding.clone(), &mut keys));
            let worst = max_abs_diff(&plain.0, &fast.0);
            assert!(worst < 1e-5, "{name}, {pooling:?}: scores differ by up to {worst:e}");
            let worst = max_abs_diff(&plain.1, &fast.1);
            assert!(worst < 1e-5, "{name}, {pooling:?}: gradients differ by up to {worst:e}");
        }
    }
}

/// Plugged into the kit's loop without dropout, three steps of the kernels' task give chapter 7's losses and
/// weights (to float rounding), with each batch of 4 in one slice and split in two over threads (each slice padded
/// on its own, weighted by its share of the messages).
#[test]
fn the_kernels_task_trains_as_chapter_7s_in_the_loop_in_one_slice_or_two() {
    let device = Device::flex().autodiff();
    let messages = messages();
    let mut config = FineTuneConfig::new(BackboneKind::Minilm, Regime::Full);
    (config.batch_size, config.head_dropout, config.max_len) = (4, 0.0, 48);
    // One initialisation for every run: the device's generator is shared with the tests running beside this one.
    let initial = trainer(&config, tiny_bert(0.0, &device), &messages, &messages[..2], &device)
        .unwrap()
        .model;
    let chapter = || {
        let mut chapter = trainer(&config, tiny_bert(0.0, &device), &messages, &messages[..2], &device).unwrap();
        chapter.model = initial.clone();
        chapter
    };
    let outcome = |losses: Vec<f32>, model: Classifier| (losses, values(model.valid().head.weight.val()));
    let mut plain = chapter();
    let losses = (0..3).map(|_| plain.train_step().unwrap().into_scalar()).collect();
    let expected = outcome(losses, plain.model);
    for shards in [1, 2] {
        // The task shuffles at an epoch's first batch: a trainer of its own to look at one.
        let slices = with_shards(chapter(), shards).task.batch(0, &device).unwrap().slices;
        assert_eq!(slices.len(), shards);
        let shares: f32 = slices.iter().map(|(_, _, share)| share).sum();
        assert!((shares - 1.0).abs() < 1e-6, "the shares add up to {shares}");
        let mut kernels = with_shards(chapter(), shards);
        let losses = (0..3).map(|_| kernels.train_step().unwrap().into_scalar()).collect();
        assert_trains_as(
            &expected,
            &outcome(losses, kernels.model),
            &format!("{shards} slices, the head"),
        );
    }
}

/// A GPT backbone with dropout draws its masks from the device's generator: its batches stay in one slice, so that
/// the run stays reproducible; without dropout they are split.
#[test]
fn a_gpt_backbone_with_dropout_keeps_one_slice() {
    let device = Device::flex().autodiff();
    let messages = messages();
    let config = FineTuneConfig::new(BackboneKind::Gpt, Regime::Full);
    for (dropout, expected) in [(0.2, 1), (0.0, 2)] {
        let chapter = trainer(&config, tiny_gpt(dropout, &device), &messages, &messages[..2], &device).unwrap();
        assert_eq!(with_shards(chapter, 2).task.shards, expected, "dropout {dropout}");
    }
}

/// Freezing clears a dropout layer's training flag and burn's layer then passes its input through: a frozen
/// backbone on the kernels draws no mask either (the head's dropout set to 0), while a trained one does.
#[test]
fn a_frozen_backbones_dropout_stays_off_on_the_kernels() {
    let device = Device::flex().autodiff();
    let messages = messages();
    let refs: Vec<&Message> = messages.iter().collect();
    for (regime, dropped) in [(Regime::Head, false), (Regime::Full, true)] {
        let pretrained = tiny_bert(0.3, &device);
        let batch = make_batch(&pretrained.encoder, &refs, 48, &device).unwrap();
        let inference = make_batch(&pretrained.encoder, &refs, 48, &Device::flex()).unwrap();
        let model = Classifier::new(pretrained.backbone, 16, Pooling::Mean, 0.0, &device)
            .for_regime(regime, &Default::default());
        let without_dropout = values(model.valid().forward(inference.tokens, inference.padding));
        let mut keys = DropoutKeys::new(1, 0).for_slice(0);
        let fast = values(logits(&model, batch.tokens, batch.padding, &mut keys));
        let worst = max_abs_diff(&without_dropout, &fast);
        assert_eq!(worst > 1e-4, dropped, "{regime:?}: scores moved by {worst:e}");
    }
}
