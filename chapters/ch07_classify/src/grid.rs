//! The chapter's table: every backbone under every regime, each over several seeds (a seed draws the split, the
//! head's initial weights, dropout and the order of the batches), beside the two baselines on the same splits. Each
//! row is the mean ± standard deviation over the seeds: on a test split of 1,033 messages with 130 spam,
//! one message moves spam F₁ by about 0.004, so one seed cannot rank two rows that close.
//!
//! Every finished run is kept in the grid's directory (`runs/BACKBONE-REGIME-seedS.json`, its configuration beside
//! its row): a grid stopped half-way goes on where it stopped when it is run again with the same directory.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::ClassifyError;
use crate::experiment::ResultRow;
use crate::training::FineTuneConfig;

/// The summary table's file in the grid's directory, and its first line.
pub const MARKDOWN_FILE: &str = "results.md";
const MARKDOWN_HEADER: &str = "| model | fine-tuned | trainable params | seeds | accuracy (%) | spam precision | \
                               spam recall | spam F1 | train time (s) |";
/// Every run's row, and its first line.
pub const CSV_FILE: &str = "results.csv";
const CSV_HEADER: &str = "model,regime,seed,trainable_params,accuracy,spam_precision,spam_recall,spam_f1,\
                          train_seconds,examples_per_second";

/// Checks that the tables in `out`, if there are any, are a grid's (they begin with its header), before the grid
/// replaces them: a file of the same name that the grid did not write is the user's, and an error names it.
pub fn check_tables_are_the_grids(out: &Path) -> Result<(), ClassifyError> {
    for (name, header) in [(MARKDOWN_FILE, MARKDOWN_HEADER), (CSV_FILE, CSV_HEADER)] {
        let path = out.join(name);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(ClassifyError::GridFile {
                    path,
                    message: e.to_string(),
                });
            }
        };
        if text.lines().next() != Some(header) {
            return Err(ClassifyError::NotTheGrids { path });
        }
    }
    Ok(())
}

/// A finished run as the grid keeps it.
#[derive(Serialize, Deserialize)]
struct Finished {
    config: FineTuneConfig,
    row: ResultRow,
}

/// Where the grid in `out` keeps the run `config` describes.
pub fn run_file(out: &Path, config: &FineTuneConfig) -> PathBuf {
    let backbone = serde_json::to_value(config.backbone).unwrap_or_default();
    let regime = serde_json::to_value(config.regime).unwrap_or_default();
    let name = format!(
        "{}-{}-seed{}.json",
        backbone.as_str().unwrap_or("backbone"),
        regime.as_str().unwrap_or("regime"),
        config.seed
    );
    out.join("runs").join(name)
}

/// The row the grid in `out` kept for `config`, if that run finished there; an error if the run kept under the same
/// backbone, regime and seed had another configuration (another protocol, number of epochs, LoRA rank...).
pub fn finished_row(out: &Path, config: &FineTuneConfig) -> Result<Option<ResultRow>, ClassifyError> {
    let path = run_file(out, config);
    let unreadable = |message: String| ClassifyError::GridFile {
        path: path.clone(),
        message,
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(unreadable(e.to_string())),
    };
    let finished: Finished = serde_json::from_str(&text).map_err(|e| unreadable(e.to_string()))?;
    if finished.config != *config {
        return Err(ClassifyError::GridChanged { path });
    }
    Ok(Some(finished.row))
}

/// Keeps `row`, measured under `config`, in the grid directory `out`.
pub fn keep_row(out: &Path, config: &FineTuneConfig, row: &ResultRow) -> Result<(), ClassifyError> {
    let path = run_file(out, config);
    let failed = |e: &dyn std::fmt::Display| ClassifyError::GridFile {
        path: path.clone(),
        message: e.to_string(),
    };
    let finished = Finished {
        config: config.clone(),
        row: row.clone(),
    };
    let text = serde_json::to_string_pretty(&finished).map_err(|e| failed(&e))?;
    std::fs::create_dir_all(out.join("runs")).map_err(|e| failed(&e))?;
    std::fs::write(&path, text).map_err(|e| failed(&e))
}

/// The mean and the sample standard deviation √(Σ(xᵢ − x̄)² / (n − 1)) of some measurements (0 for one).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanStd {
    pub mean: f64,
    pub std: f64,
}

impl MeanStd {
    pub fn of(values: &[f64]) -> Self {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let squares: f64 = values.iter().map(|x| (x - mean).powi(2)).sum();
        let std = if values.len() > 1 {
            (squares / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        MeanStd { mean, std }
    }
}

/// One row of the table: a model under a regime, over its seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    pub model: String,
    pub regime: String,
    pub trainable_params: usize,
    pub seeds: usize,
    pub accuracy: MeanStd,
    pub spam_precision: MeanStd,
    pub spam_recall: MeanStd,
    pub spam_f1: MeanStd,
    pub train_seconds: MeanStd,
}

/// The rows of each model and regime, in the order they first come, summarised over their seeds.
pub fn summarize(rows: &[ResultRow]) -> Vec<SummaryRow> {
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for row in rows {
        if !keys.contains(&(row.model.as_str(), row.regime.as_str())) {
            keys.push((&row.model, &row.regime));
        }
    }
    keys.into_iter()
        .map(|(model, regime)| {
            let group: Vec<&ResultRow> = rows.iter().filter(|r| r.model == model && r.regime == regime).collect();
            let over =
                |measure: fn(&ResultRow) -> f64| MeanStd::of(&group.iter().map(|r| measure(r)).collect::<Vec<_>>());
            SummaryRow {
                model: model.into(),
                regime: regime.into(),
                trainable_params: group[0].trainable_params,
                seeds: group.len(),
                accuracy: over(|r| r.accuracy),
                spam_precision: over(|r| r.spam_precision),
                spam_recall: over(|r| r.spam_recall),
                spam_f1: over(|r| r.spam_f1),
                train_seconds: over(|r| r.train_seconds),
            }
        })
        .collect()
}

/// The summary as a markdown table, each measurement as mean ± standard deviation.
pub fn markdown_table(summary: &[SummaryRow]) -> String {
    let mut table = format!("{MARKDOWN_HEADER}\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    let pm =
        |m: MeanStd, scale: f64, digits: usize| format!("{:.digits$} ± {:.digits$}", scale * m.mean, scale * m.std);
    for r in summary {
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.model,
            r.regime,
            r.trainable_params,
            r.seeds,
            pm(r.accuracy, 100.0, 2),
            pm(r.spam_precision, 1.0, 3),
            pm(r.spam_recall, 1.0, 3),
            pm(r.spam_f1, 1.0, 3),
            pm(r.train_seconds, 1.0, 0),
        );
    }
    table
}

/// Every run's row as CSV, a header first.
pub fn csv_table(rows: &[ResultRow]) -> String {
    let mut csv = format!("{CSV_HEADER}\n");
    for r in rows {
        let _ = writeln!(
            csv,
            "\"{}\",\"{}\",{},{},{:.6},{:.6},{:.6},{:.6},{:.1},{:.1}",
            r.model,
            r.regime,
            r.seed,
            r.trainable_params,
            r.accuracy,
            r.spam_precision,
            r.spam_recall,
            r.spam_f1,
            r.train_seconds,
            r.examples_per_second
        );
    }
    csv
}
