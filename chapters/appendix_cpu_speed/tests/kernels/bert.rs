//! Chapter 6's BERT on the kernels against chapter 6's code: without dropout the same logits and gradients on both
//! backends, and the same training steps in the kit's loop; with dropout, a step's masks drawn again for the same
//! step and new for another.

use bert::BertVocab;
use bert::config::BertConfig;
use bert::masking::{Masked, MaskedBatch, masked_lm_loss};
use bert::training::{MaskedLanguageModeling, RunConfig, trainer_from};
use burn::module::Module;
use burn::prelude::*;
use common::testing::{backends, max_abs_diff, values};
use common::train::Task;
use cpu_speed::bert::{fast, forward_at};
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
        let mut keys = DropoutKeys::new(1, 0);
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

/// Plugged into the kit's loop without dropout, three steps of the kernels' task give chapter 6's losses and
/// weights (to float rounding).
#[test]
fn the_kernels_task_trains_as_chapter_6s_in_the_loop() {
    let device = Device::flex().autodiff();
    let config = run_config(BertConfig::new(261, 16, 2, 2, 16).with_dropout(0.0));
    // One initialisation for both runs: the device's generator is shared with the tests running beside this one.
    let initial = config.model.init_masked_lm(&device);
    let run = |kernels: bool| {
        let model = initial.clone();
        let chapter = trainer_from(
            MaskedLanguageModeling::on_given_batches(config.clone(), vocab()),
            model,
            &device,
        );
        let (losses, model) = if kernels {
            let mut trainer = fast(chapter);
            let losses: Vec<f32> = (0..3)
                .map(|step| {
                    trainer
                        .train_step_on((MaskedBatch::new(&sequences(), 0, &device), step))
                        .into_scalar()
                })
                .collect();
            (losses, trainer.model)
        } else {
            let mut trainer = chapter;
            let losses: Vec<f32> = (0..3)
                .map(|_| {
                    trainer
                        .train_step_on(MaskedBatch::new(&sequences(), 0, &device))
                        .into_scalar()
                })
                .collect();
            (losses, trainer.model)
        };
        (
            losses,
            values(model.valid().bert.layers[0].feed_forward.linear_2.weight.val()),
        )
    };
    let (chapter, kernels) = (run(false), run(true));
    assert!(
        max_abs_diff(&chapter.0, &kernels.0) < 1e-5,
        "losses {:?} and {:?}",
        chapter.0,
        kernels.0
    );
    assert!(
        max_abs_diff(&chapter.1, &kernels.1) < 1e-5,
        "weights after three steps differ"
    );
}

/// With dropout, a step's loss is a function of its step: the same step draws the same masks again (as a resumed
/// run would), another step other masks.
#[test]
fn with_dropout_a_step_draws_its_own_masks_again() {
    let device = Device::flex().autodiff();
    device.seed(5);
    let config = run_config(BertConfig::new(261, 16, 2, 2, 16).with_dropout(0.3));
    let model = config.model.init_masked_lm(&device);
    let trainer = fast(trainer_from(
        MaskedLanguageModeling::on_given_batches(config, vocab()),
        model,
        &device,
    ));
    let loss = |step: usize| -> f32 {
        trainer
            .task
            .loss(&trainer.model, (MaskedBatch::new(&sequences(), 0, &device), step))
            .into_scalar()
    };
    assert_eq!(loss(7), loss(7));
    assert_ne!(loss(7), loss(8));
}
