//! The chapter's table: on the synthetic set, the exact-match accuracy of a small GPT on items, phrasings and a
//! family it never trained on, without fine-tuning, fine-tuned on the whole sequence or on the response alone,
//! from pretrained or random weights; each over several seeds.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use burn::prelude::*;
use common::rng::SplitMix64;
use serde::{Deserialize, Serialize};

use crate::InstructError;
use crate::backbone::{BackboneKind, load_backbone};
use crate::data::Example;
use crate::evaluate::{Accuracy, synthetic_accuracy};
use crate::synthetic::{Family, SyntheticExample, SyntheticSet, generate};
use crate::training::{Dataset, FinetuneConfig, trainer};

/// Training examples per trained family in the book's synthetic set.
pub const PER_FAMILY: usize = 200;
/// The family the book holds out of training.
pub const HELD_OUT_FAMILY: Family = Family::Uppercase;

/// The synthetic set of `seed`, its training examples shuffled (the generator writes them family by family) and cut
/// into training (90%) and validation.
pub struct SyntheticData {
    pub set: SyntheticSet,
    pub train: Vec<Example>,
    pub val: Vec<Example>,
}

pub fn synthetic_data(seed: u64) -> SyntheticData {
    let set = generate(seed, PER_FAMILY, HELD_OUT_FAMILY);
    let mut train: Vec<Example> = set.train.iter().map(|e| e.example.clone()).collect();
    SplitMix64::new(seed).shuffle(&mut train);
    let val = train.split_off(train.len() * 9 / 10);
    SyntheticData { set, train, val }
}

/// One row of the table: a backbone, fine-tuned (with or without the prompt masked) or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Arm {
    pub backbone: BackboneKind,
    /// `None`: the prompt alone, no fine-tuning; `Some(mask_prompt)`: fine-tuned.
    pub mask_prompt: Option<bool>,
}

impl Arm {
    pub fn describe(&self) -> String {
        let weights = match self.backbone {
            BackboneKind::Scratch => "random weights",
            _ => "pretrained",
        };
        let tuning = match self.mask_prompt {
            None => "no fine-tuning",
            Some(false) => "fine-tuned, loss on prompt and response",
            Some(true) => "fine-tuned, loss on the response only",
        };
        format!("{weights}, {tuning}")
    }
}

/// The book's rows.
pub const ARMS: [Arm; 5] = [
    Arm {
        backbone: BackboneKind::Gpt,
        mask_prompt: None,
    },
    Arm {
        backbone: BackboneKind::Gpt,
        mask_prompt: Some(false),
    },
    Arm {
        backbone: BackboneKind::Gpt,
        mask_prompt: Some(true),
    },
    Arm {
        backbone: BackboneKind::Scratch,
        mask_prompt: Some(false),
    },
    Arm {
        backbone: BackboneKind::Scratch,
        mask_prompt: Some(true),
    },
];

/// What one arm scored with one seed, per family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmResult {
    pub arm: Arm,
    pub seed: u64,
    pub new_items: BTreeMap<Family, Accuracy>,
    pub new_phrasings: BTreeMap<Family, Accuracy>,
    pub new_family: BTreeMap<Family, Accuracy>,
    /// The validation loss on the responses after the last epoch (the untrained model's without fine-tuning).
    pub val_loss: f64,
    pub seconds: f64,
}

/// The accuracy over every family of `per_family`.
pub fn overall(per_family: &BTreeMap<Family, Accuracy>) -> f64 {
    let mut total = Accuracy::default();
    per_family.values().for_each(|a| total.add(*a));
    total.rate()
}

// ANCHOR: run_arm
/// `arm` with `seed`: the backbone from the chapter 5 run in `from`, fine-tuned (or not) on the synthetic set of
/// `seed`, then asked every held-out example. `device` must be an autodiff device.
pub fn run_arm(arm: Arm, seed: u64, from: &Path, device: &Device) -> Result<ArmResult, InstructError> {
    let started = Instant::now();
    let data = synthetic_data(seed);
    device.seed(seed);
    let backbone = load_backbone(arm.backbone, &from.display().to_string(), device)?;
    let mut config = FinetuneConfig::new(arm.backbone, Dataset::Synthetic);
    config.seed = seed;
    config.mask_prompt = arm.mask_prompt.unwrap_or(true);
    let mut setup = trainer(
        &config,
        backbone,
        &from.display().to_string(),
        &data.train,
        &data.val,
        device,
    )?;
    let trainer = &mut setup.trainer;
    let until = if arm.mask_prompt.is_some() {
        trainer.plan.max_steps
    } else {
        0
    };
    trainer.train(until, None, None)?;
    let val_loss = trainer.evaluations.last().map_or(f64::NAN, |score| score.val_loss);
    let model = trainer.model.valid();
    let tokenizer = &trainer.task.tokenizer;
    let ask = |examples: &[SyntheticExample]| synthetic_accuracy(&model, tokenizer, examples);
    Ok(ArmResult {
        arm,
        seed,
        new_items: ask(&data.set.new_items)?,
        new_phrasings: ask(&data.set.new_phrasings)?,
        new_family: ask(&data.set.new_family)?,
        val_loss,
        seconds: started.elapsed().as_secs_f64(),
    })
}
// ANCHOR_END: run_arm

/// What a program scores without a model: for each family, the answer most frequent among its training examples,
/// given to every question of that family (none for the held-out family, which has no training examples). Counting
/// a letter is mostly answered "1".
pub fn majority_baseline(seed: u64) -> [BTreeMap<Family, Accuracy>; 3] {
    let set = synthetic_data(seed).set;
    let mut answers: BTreeMap<Family, BTreeMap<&str, usize>> = BTreeMap::new();
    for e in &set.train {
        *answers
            .entry(e.family)
            .or_default()
            .entry(e.example.output.as_str())
            .or_default() += 1;
    }
    let most_frequent: BTreeMap<Family, &str> = answers
        .iter()
        .map(|(&family, counts)| (family, counts.iter().max_by_key(|(_, n)| **n).map_or("", |(a, _)| *a)))
        .collect();
    [&set.new_items, &set.new_phrasings, &set.new_family].map(|examples| {
        let mut accuracy: BTreeMap<Family, Accuracy> = BTreeMap::new();
        for e in examples {
            let correct = usize::from(most_frequent.get(&e.family) == Some(&e.example.output.as_str()));
            accuracy
                .entry(e.family)
                .or_default()
                .add(Accuracy { correct, total: 1 });
        }
        accuracy
    })
}

/// The seeds `results` were measured with, each once, in order.
pub fn seeds_of(results: &[ArmResult]) -> Vec<u64> {
    let mut seeds: Vec<u64> = results.iter().map(|r| r.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    seeds
}

/// Mean and sample standard deviation.
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

/// The table in markdown: per arm, the accuracy (%) on new items, new phrasings and the new family, and the
/// validation loss, each mean ± std over the seeds in `results`.
pub fn markdown_table(results: &[ArmResult]) -> String {
    let mut table = String::from(
        "| model | new items (%) | new phrasings (%) | new family (%) | validation loss | seeds |\n\
         |---|---|---|---|---|---|\n",
    );
    let seeds = seeds_of(results);
    let baselines: Vec<[BTreeMap<Family, Accuracy>; 3]> = seeds.iter().map(|&seed| majority_baseline(seed)).collect();
    let cell = |part: usize| {
        let (mean, std) = mean_std(&baselines.iter().map(|b| 100.0 * overall(&b[part])).collect::<Vec<_>>());
        format!("{mean:.1} ± {std:.1}")
    };
    table += &format!(
        "| no model: each family's most frequent training answer | {} | {} | {} | | {} |\n",
        cell(0),
        cell(1),
        cell(2),
        seeds.len()
    );
    for arm in ARMS {
        let rows: Vec<&ArmResult> = results.iter().filter(|r| r.arm == arm).collect();
        if rows.is_empty() {
            continue;
        }
        let cell = |f: &dyn Fn(&ArmResult) -> f64, scale: f64, digits: usize| {
            let (mean, std) = mean_std(&rows.iter().map(|r| scale * f(r)).collect::<Vec<_>>());
            format!("{mean:.digits$} ± {std:.digits$}")
        };
        table += &format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            arm.describe(),
            cell(&|r| overall(&r.new_items), 100.0, 1),
            cell(&|r| overall(&r.new_phrasings), 100.0, 1),
            cell(&|r| overall(&r.new_family), 100.0, 1),
            cell(&|r| r.val_loss, 1.0, 3),
            rows.len()
        );
    }
    table
}

/// Per family, the accuracy (%) on new items and new phrasings of `arm`, mean over the seeds.
pub fn per_family_table(results: &[ArmResult], arm: Arm) -> String {
    let rows: Vec<&ArmResult> = results.iter().filter(|r| r.arm == arm).collect();
    let mut table = String::from("| family | new items (%) | new phrasings (%) |\n|---|---|---|\n");
    for family in Family::ALL.into_iter().filter(|&f| f != HELD_OUT_FAMILY) {
        let mean = |pick: &dyn Fn(&ArmResult) -> &BTreeMap<Family, Accuracy>| {
            let rates: Vec<f64> = rows.iter().map(|r| 100.0 * pick(r)[&family].rate()).collect();
            mean_std(&rates)
        };
        let ((items, items_std), (phrasings, phrasings_std)) = (mean(&|r| &r.new_items), mean(&|r| &r.new_phrasings));
        table += &format!(
            "| {} | {items:.1} ± {items_std:.1} | {phrasings:.1} ± {phrasings_std:.1} |\n",
            family.name()
        );
    }
    table
}
