//! Chapter 6's BERT on the kernels against chapter 6's code: without dropout the same logits and gradients on both
//! backends, and the same training steps in the kit's loop, each batch in one slice or two; with dropout, a step's
//! masks drawn again for the same step and new for another.

use crate::assert_trains_as;
use bert::BertVocab;
use bert::config::BertConfig;
use bert::masking::{Masked, MaskedBatch, masked_lm_loss};
use bert::training::{MaskedLanguageModeling, RunConfig, trainer_from};
use burn::module::Module;
use burn::prelude::*;
use common::testing::{backends, max_abs_diff, values};
use common::train::Task;
use cpu_speed::bert::{forward_at, with_shards};
use cpu_speed::dropout::DropoutKeys;
use tokens::BpeTokenizer;

fn sequences() -> Vec<Masked> {
    vec![
        Masked {
            inputs: vec![2, 4, 30, 41, 4, 3],
            targets: vec![None, Some(28), None, None, Some(45), None],
        },
        Masked {
            inputs: vec![2, 17, 4, 3],
            targets: vec![None, None, Some(9), None],
        },
    ]
}

fn run_config(model: BertConfig) -> RunConfig {
    let mut config = RunConfig::named("tiny").unwrap();
    config.model = model;
    config
}

fn vocab() -> BertVocab {
    BertVocab::new(BpeTokenizer::from_merges(Vec::new()).unwrap())
}

/// Without dropout, the kernels compute chapter 6's function: logits within 1e-5 and the loss's gradient for the
/// feed-forward weights of the last layer within 1e-5, on both backends (float rounding only: the fused GELU
/// evaluates the same formula another way).
#[test]
fn without_dropout_the_kernels_give_chapter_6s_logits_and_gradients() {
    for (name, device) in backends() {
        let autodiff = device.clone().autodiff();
        autodiff.seed(3);
        let model = BertConfig::new(50, 16, 2, 2, 24)
            .with_dropout(0.0)
            .init_masked_lm(&autodiff);
        let batch = MaskedBatch::new(&sequences(), 0, &autodiff);
        let gradient = |logits: Tensor<2>| {
            let grads = masked_lm_loss(logits.clone(), batch.targets.clone()).backward();
            let weight = &model.bert.layers[1].feed_forward.linear_1.weight;
            (
                values(logits),
                values(weight.val().grad(&grads).expect("the weight takes part")),
            )
        };
        let (plain_logits, plain_grad) = gradient(model.forward_at(
            batch.inputs.clone(),
            Some(batch.padding.clone()),
            batch.positions.clone(),
        ));
        let mut keys = DropoutKeys::new(1, 0).for_slice(0);
        let (fast_logits, fast_grad) = gradient(forward_at(
            &model,
            batch.inputs.clone(),
            Some(batch.padding.clone()),
            batch.positions.clone(),
            &mut keys,
        ));
        let worst = max_abs_diff(&plain_logits, &fast_logits);
        assert!(worst < 1e-5, "{name}: logits differ by up to {worst:e}");
        let worst = max_abs_diff(&plain_grad, &fast_grad);
        assert!(worst < 1e-5, "{name}: gradients differ by up to {worst:e}");
    }
}

/// A task of chapter 6 on a few byte sequences (`[CLS]` 258 ... `[SEP]` 259 in the 261 ids of a BPE without merges),
/// batches of 4, a model of width 16 whose dropouts are `dropout`.
fn byte_task(dropout: f64) -> MaskedLanguageModeling {
    let mut config = run_config(BertConfig::new(261, 16, 2, 2, 24).with_dropout(dropout));
    config.training.bpe_vocab_size = 256;
    config.training.batch_size = 4;
    let train: Vec<Vec<u32>> = (0..12u32)
        .map(|i| {
            std::iter::once(258)
                .chain((0..6 + i % 5).map(|j| (i * 7 + j * 3) % 256))
                .chain([259])
                .collect()
        })
        .collect();
    MaskedLanguageModeling::new(config, vocab(), train.clone(), &train[..3]).unwrap()
}

/// Plugged into the kit's loop without dropout, three steps of the kernels' task give chapter 6's losses and
/// weights (to float rounding), with each batch in one slice and split in two over threads (each slice padded on
/// its own, weighted by its share of the chosen positions).
#[test]
fn the_kernels_task_trains_as_chapter_6s_in_the_loop_in_one_slice_or_two() {
    let device = Device::flex().autodiff();
    // One initialisation for every run: the device's generator is shared with the tests running beside this one.
    let initial = byte_task(0.0).config.model.init_masked_lm(&device);
    let chapter = || trainer_from(byte_task(0.0), initial.clone(), &device);
    let outcome = |losses: Vec<f32>, model: bert::BertForMaskedLm| {
        (
            losses,
            values(model.valid().bert.layers[0].feed_forward.linear_2.weight.val()),
        )
    };
    let mut plain = chapter();
    let losses = (0..3).map(|_| plain.train_step().unwrap().into_scalar()).collect();
    let expected = outcome(losses, plain.model);
    for shards in [1, 2] {
        let mut kernels = with_shards(chapter(), shards);
        let slices = kernels.task.batch(0, &device).unwrap().slices;
        assert_eq!(slices.len(), shards);
        let shares: f32 = slices.iter().map(|(_, _, share)| share).sum();
        assert!((shares - 1.0).abs() < 1e-6, "the shares add up to {shares}");
        let losses = (0..3).map(|_| kernels.train_step().unwrap().into_scalar()).collect();
        assert_trains_as(&expected, &outcome(losses, kernels.model), &format!("{shards} slices"));
    }
}

/// With dropout, a step's loss is a function of its step, in one slice or two: the same step draws the same masks
/// again (as a resumed run would), another step other masks.
#[test]
fn with_dropout_a_step_draws_its_own_masks_again() {
    let device = Device::flex().autodiff();
    for shards in [1, 2] {
        let mut trainer = with_shards(
            trainer_from(
                byte_task(0.3),
                byte_task(0.3).config.model.init_masked_lm(&device),
                &device,
            ),
            shards,
        );
        let mut loss = |step: usize| -> f32 {
            let batch = trainer.task.batch(step, &device).unwrap();
            trainer.task.loss(&trainer.model, batch).into_scalar()
        };
        let (first, again, next) = (loss(7), loss(7), loss(8));
        assert_eq!(first, again, "{shards} slices");
        assert_ne!(first, next, "{shards} slices");
    }
}
