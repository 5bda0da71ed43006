//! One row of the chapter's table: fine-tune a backbone under a regime, keep the best epoch, score it on the test
//! split; and the two baselines' rows.

use std::path::Path;

use burn::prelude::*;
use common::metrics::Report;
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use crate::ClassifyError;
use crate::backbones::{BackboneKind, Pretrained};
use crate::baselines::{NaiveBayes, majority_label};
use crate::data::{Label, Splits};
use crate::model::Regime;
use crate::training::{FineTuneConfig, FineTuned, fine_tune, predict, report};

/// A row of the table for one seed: who, how, how well on the test split, at what cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    pub model: String,
    pub regime: String,
    /// The seed of the split and of the initialisation.
    pub seed: u64,
    pub trainable_params: usize,
    pub accuracy: f64,
    pub spam_precision: f64,
    pub spam_recall: f64,
    pub spam_f1: f64,
    /// Training time (evaluations left out), seconds; 0 for a baseline that counts words.
    pub train_seconds: f64,
    pub examples_per_second: f64,
}

impl ResultRow {
    pub fn new(
        model: &str,
        regime: &str,
        seed: u64,
        report: &Report,
        trainable_params: usize,
        run: Option<&FineTuned>,
    ) -> Self {
        let spam = report.per_class[Label::Spam.index()];
        ResultRow {
            model: model.into(),
            regime: regime.into(),
            seed,
            trainable_params,
            accuracy: report.accuracy,
            spam_precision: spam.precision,
            spam_recall: spam.recall,
            spam_f1: spam.f1,
            train_seconds: run.map_or(0.0, |r| r.train_seconds),
            examples_per_second: run.map_or(0.0, |r| r.examples_per_second),
        }
    }
}

/// The two baselines' rows on `splits.test` (drawn with `seed`): the majority class, and naive Bayes fitted on
/// `splits.train`.
pub fn baseline_rows(splits: &Splits, seed: u64) -> Vec<ResultRow> {
    let truth: Vec<usize> = splits.test.iter().map(|m| m.label.index()).collect();
    let majority = vec![majority_label(&splits.train).index(); truth.len()];
    let bayes = NaiveBayes::fit(&splits.train, 1.0);
    let predicted: Vec<usize> = splits.test.iter().map(|m| bayes.predict(&m.text).index()).collect();
    vec![
        ResultRow::new("majority class", "-", seed, &Report::new(2, &truth, &majority), 0, None),
        ResultRow::new(
            "naive Bayes (words)",
            "-",
            seed,
            &Report::new(2, &truth, &predicted),
            0,
            None,
        ),
    ]
}

/// A fine-tuned model's report on the test split, with the run.
pub struct Experiment {
    pub run: FineTuned,
    pub test: Report,
    pub test_probabilities: Vec<[f32; 2]>,
}

// ANCHOR: experiment
/// Fine-tunes the `pretrained` backbone of `config` ([`crate::load_backbone`] loads it) on `splits.train`
/// keeping the best epoch on `splits.val` (saved as a checkpoint in `checkpoint_dir`, if given), and scores that
/// epoch on `splits.test`.
pub fn run_experiment(
    config: &FineTuneConfig,
    pretrained: Pretrained,
    splits: &Splits,
    device: &Device,
    checkpoint_dir: Option<&Path>,
    progress: Option<&ProgressBar>,
) -> Result<Experiment, ClassifyError> {
    let encoder = pretrained.encoder.clone();
    let max_len = config.max_len.min(pretrained.architecture.context());
    let run = fine_tune(
        config,
        pretrained,
        &splits.train,
        &splits.val,
        device,
        progress,
        checkpoint_dir,
    )?;
    let inference = device.clone().inner();
    let test_probabilities = predict(&run.model, &encoder, &splits.test, max_len, 64, &inference)?;
    Ok(Experiment {
        test: report(&splits.test, &test_probabilities),
        test_probabilities,
        run,
    })
}
// ANCHOR_END: experiment

/// The row of the run `config` describes.
pub fn experiment_row(config: &FineTuneConfig, experiment: &Experiment) -> ResultRow {
    let regime_name = match config.regime {
        Regime::Head => "head only",
        Regime::LastBlock => "last block + head",
        Regime::Full => "full",
        Regime::Lora => "LoRA + head",
    };
    let model = match config.backbone {
        BackboneKind::Gpt => "GPT (ch. 5, Shakespeare)",
        BackboneKind::Bert => "BERT (ch. 6, Shakespeare)",
        BackboneKind::Minilm => "MiniLM-L6 (pretrained)",
        BackboneKind::Scratch => "MiniLM-L6 (random init)",
    };
    ResultRow::new(
        model,
        regime_name,
        config.seed,
        &experiment.test,
        experiment.run.trainable_params,
        Some(&experiment.run),
    )
}
