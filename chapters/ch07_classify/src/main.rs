//! Chapter 7's commands: fine-tune a classifier on the SMS Spam Collection, score it, use it, and run the grid of
//! every backbone under every regime.
//!
//! `cargo run --release -p classify -- train --backbone minilm --regime lora` fine-tunes and scores on the test
//! split; `... -- eval --checkpoint DIR` prints the metrics and the confusion matrix; `... -- predict
//! "Free entry to win..."` prints the label and its probability; `... -- grid` writes the book's table.

use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::{Args, Parser, Subcommand, ValueEnum};
use classify::ClassifyError;
use classify::backbones::{BackboneKind, load_backbone};
use classify::checkpoint;
use classify::data::{Collection, Label, Message, Protocol, Splits, load_sms_spam, split};
use classify::experiment::{ResultRow, baseline_rows, experiment_row, run_experiment};
use classify::grid::{
    CSV_FILE, MARKDOWN_FILE, check_tables_are_the_grids, csv_table, finished_row, keep_row, markdown_table, summarize,
};
use classify::model::{Pooling, Regime};
use classify::plots::write_pr_curves_svg;
use classify::training::{FineTuneConfig, predict, report};
use common::cli::{DeviceArgs, at_least_one, positive_number};
use common::device::fits_in_memory;
use common::figures::write_loss_curves;
use common::metrics::{Report, average_precision, precision_recall_curve};
use common::train::{CheckpointError, RunDir, Start, progress_bar};

/// mimalloc keeps the memory of freed tensors for the next ones (see chapter 5's `main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(about = "Chapter 7: fine-tune GPT, BERT and MiniLM backbones to classify SMS spam")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Fine-tune a backbone under a regime; keep the best epoch on validation; score it on the test split.
    Train(TrainArgs),
    /// Print a checkpoint's metrics and confusion matrix on the test split.
    Eval(EvalArgs),
    /// Print the label of each message and its probability.
    Predict(PredictArgs),
    /// Fine-tune every backbone under every regime and write the results table (markdown and CSV).
    Grid(GridArgs),
}

/// What every fine-tuning command shares.
#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    device: DeviceArgs,
    /// The SMS Spam Collection file (`label TAB text` lines) instead of the cached download.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Imbalanced: every message (13% spam); balanced: ham undersampled to as many as spam (Raschka's protocol).
    #[arg(long, value_enum, default_value = "imbalanced")]
    protocol: Protocol,
    /// Epochs (the book's runs: 3).
    #[arg(long, value_parser = at_least_one)]
    epochs: Option<usize>,
    /// LoRA's rank r.
    #[arg(long, default_value_t = 8, value_parser = at_least_one)]
    rank: usize,
    /// LoRA's alpha.
    #[arg(long, default_value_t = 16.0, value_parser = positive_number)]
    alpha: f64,
    /// The GPT's pretraining run (chapter 5, with --bpe).
    #[arg(long, default_value = "runs/gpt-bpe")]
    gpt: PathBuf,
    /// The BERT's pretraining run (chapter 6).
    #[arg(long, default_value = "runs/bert-small")]
    bert: PathBuf,
    /// A Hugging Face folder of all-MiniLM-L6-v2 instead of the cached download.
    #[arg(long)]
    model: Option<PathBuf>,
}

impl RunArgs {
    fn config(&self, backbone: BackboneKind, regime: Regime, seed: u64) -> FineTuneConfig {
        let mut config = FineTuneConfig::new(backbone, regime);
        config.seed = seed;
        config.protocol = self.protocol;
        config.epochs = self.epochs.unwrap_or(config.epochs);
        config.lora.rank = self.rank;
        config.lora.alpha = self.alpha;
        config
    }

    fn from(&self, backbone: BackboneKind) -> Option<&Path> {
        match backbone {
            BackboneKind::Gpt => Some(&self.gpt),
            BackboneKind::Bert => Some(&self.bert),
            BackboneKind::Minilm | BackboneKind::Scratch => self.model.as_deref(),
        }
    }
}

#[derive(Args, Debug)]
struct TrainArgs {
    #[command(flatten)]
    run: RunArgs,
    #[arg(long, value_enum)]
    backbone: BackboneKind,
    #[arg(long, value_enum, default_value = "lora")]
    regime: Regime,
    /// The seed of the split and of the run (the grid's first seed is 1).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How the states become one vector (default: last for gpt, cls for bert, mean for minilm and scratch).
    #[arg(long, value_enum)]
    pooling: Option<Pooling>,
    /// The peak learning rate (default: by regime, see the book).
    #[arg(long, value_parser = positive_number)]
    lr: Option<f64>,
    /// The run's directory: the best epoch's checkpoint in `checkpoint/`, the loss curve, the test metrics
    /// (default: runs/classify-BACKBONE-REGIME).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Start anew in an --out that holds a checkpoint, replacing it.
    #[arg(long)]
    overwrite: bool,
}

#[derive(Args, Debug)]
struct EvalArgs {
    #[command(flatten)]
    device: DeviceArgs,
    /// A directory `train` wrote (its --out).
    #[arg(long)]
    checkpoint: PathBuf,
    #[arg(long)]
    data: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct PredictArgs {
    #[command(flatten)]
    device: DeviceArgs,
    #[arg(long)]
    checkpoint: PathBuf,
    /// The messages to classify.
    #[arg(required = true)]
    messages: Vec<String>,
}

#[derive(Args, Debug)]
struct GridArgs {
    #[command(flatten)]
    run: RunArgs,
    #[arg(long, value_enum, value_delimiter = ',', default_value = "gpt,bert,minilm,scratch")]
    backbones: Vec<BackboneKind>,
    #[arg(long, value_enum, value_delimiter = ',', default_value = "head,last-block,full,lora")]
    regimes: Vec<Regime>,
    /// The seeds every cell runs with (each draws the split and the run): the table gives mean ± std over them.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    seeds: Vec<u64>,
    /// Where results.md, results.csv and every finished run (runs/) go; a grid run again there goes on where it
    /// stopped.
    #[arg(long, default_value = "runs/classify-grid")]
    out: PathBuf,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Train(args) => train(args),
        Command::Eval(args) => eval(args),
        Command::Predict(args) => predict_messages(args),
        Command::Grid(args) => grid(args),
    }
}

/// `error`, and for a backbone that is missing or unsuitable, the command that pretrains one.
fn with_command(error: ClassifyError) -> anyhow::Error {
    let (command, flag) = match &error {
        ClassifyError::CharacterGpt { .. } | ClassifyError::WrongBackbone { backbone: "gpt", .. } => (
            "cargo run --release -p gpt -- train --bpe 2048 --out runs/gpt-bpe",
            "--gpt",
        ),
        ClassifyError::WrongBackbone { backbone: "bert", .. } => (
            "cargo run --release -p bert -- pretrain --out runs/bert-small",
            "--bert",
        ),
        _ => return error.into(),
    };
    anyhow::anyhow!("{error}; pretrain one with `{command}`, then pass its directory as {flag}")
}

/// How the command line spells `value` (`last-block`).
fn value_name(value: impl ValueEnum) -> String {
    value
        .to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_string())
}

fn print_report(report: &Report) {
    println!("            precision  recall      F1  support");
    for label in Label::ALL {
        let s = report.per_class[label.index()];
        println!(
            "{:>10}  {:>9.4}  {:>6.4}  {:>6.4}  {:>7}",
            label.name(),
            s.precision,
            s.recall,
            s.f1,
            s.support
        );
    }
    for (name, s) in [("macro", report.macro_avg), ("weighted", report.weighted_avg)] {
        println!(
            "{name:>10}  {:>9.4}  {:>6.4}  {:>6.4}  {:>7}",
            s.precision, s.recall, s.f1, s.support
        );
    }
    println!("accuracy {:.4}", report.accuracy);
    let c = &report.confusion.counts;
    println!(
        "confusion (rows: true, columns: predicted)\n             ham  spam\n  ham   {:>6} {:>5}\n  spam  {:>6} {:>5}",
        c[0][0], c[0][1], c[1][0], c[1][1]
    );
}

fn train(args: TrainArgs) -> anyhow::Result<()> {
    let selected = args.run.device.announce()?;
    let device = selected.device.autodiff();
    let mut config = args.run.config(args.backbone, args.regime, args.seed);
    config.pooling = args.pooling.unwrap_or(config.pooling);
    config.learning_rate = args.lr.unwrap_or(config.learning_rate);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| format!("runs/classify-{}-{}", args.backbone.name(), value_name(args.regime)).into());
    let run = RunDir::open(&out, Start::from_flags(false, args.overwrite)).map_err(|error| match error {
        // `train` has no --resume, which the kit's message offers: a run here is short, and starts again.
        CheckpointError::AlreadyThere(dir) => anyhow::anyhow!(
            "{} already holds a checkpoint: pass --overwrite to replace it, or another --out",
            dir.display()
        ),
        error => classify::ClassifyError::from(error).into(),
    })?;
    let collection = load_sms_spam(args.run.data.as_deref())?;
    let splits = split(&collection.messages, config.protocol, config.seed);
    print_data(&collection, &splits, config.protocol);
    let pretrained = load_backbone(args.backbone, args.run.from(args.backbone), &device).map_err(with_command)?;
    let size = pretrained.architecture.size();
    let needed = config.training_memory_bytes(&pretrained.architecture);
    println!(
        "backbone: {} parameters; {} trainable in the {} regime, the head's included; about {:.2} GB at the peak of \
         a step",
        size.total,
        size.trainable(config.regime, &config.lora),
        value_name(config.regime),
        needed as f64 / 1e9
    );
    fits_in_memory(needed, "a smaller backbone, or another regime")?;
    let steps = splits.train.len().div_ceil(config.batch_size) * config.epochs;
    let progress = progress_bar(steps, 0);
    let experiment = run_experiment(
        &config,
        pretrained,
        &splits,
        &device,
        Some(&run.checkpoint()),
        Some(&progress),
    )
    .map_err(with_command)?;
    progress.finish();
    let fine_tuned = &experiment.run;
    println!(
        "{} {:?}: {} trainable parameters; {} epochs in {:.1} s ({:.1} examples/s)",
        args.backbone.name(),
        args.regime,
        fine_tuned.trainable_params,
        fine_tuned.epochs.len(),
        fine_tuned.train_seconds,
        fine_tuned.examples_per_second
    );
    for e in &fine_tuned.epochs {
        println!(
            "epoch {}: train loss {:.4}, val loss {:.4}, val accuracy {:.4}, val spam F1 {:.4}",
            e.epoch, e.train_loss, e.val_loss, e.val_accuracy, e.val_spam_f1
        );
    }
    println!(
        "best epoch {} (checkpoint {}); on the test split:",
        fine_tuned.best_epoch,
        run.checkpoint().display()
    );
    print_report(&experiment.test);
    let row = experiment_row(&config, &experiment);
    std::fs::write(
        run.root().join("test_metrics.json"),
        serde_json::to_string_pretty(&(row, &experiment.test))?,
    )?;
    let spam: Vec<bool> = splits.test.iter().map(|m| m.label == Label::Spam).collect();
    let scores: Vec<f64> = experiment.test_probabilities.iter().map(|p| p[1] as f64).collect();
    let pr = vec![
        (
            format!("{} {:?}", args.backbone.name(), args.regime),
            precision_recall_curve(&spam, &scores),
        ),
        ("naive Bayes".to_string(), naive_bayes_curve(&splits)),
    ];
    println!(
        "average precision on the test split: {:.4}",
        average_precision(&spam, &scores)
    );
    if let Err(e) = write_pr_curves_svg(&run.root().join("pr_curve.svg"), &pr) {
        eprintln!("note: could not draw the precision-recall curve: {e}");
    }
    write_loss_curves(run.root(), &fine_tuned.history)?;
    Ok(())
}

/// Naive Bayes' precision-recall curve on the test split, fitted on the training split.
fn naive_bayes_curve(splits: &Splits) -> Vec<common::metrics::PrPoint> {
    let bayes = classify::baselines::NaiveBayes::fit(&splits.train, 1.0);
    let spam: Vec<bool> = splits.test.iter().map(|m| m.label == Label::Spam).collect();
    let scores: Vec<f64> = splits.test.iter().map(|m| bayes.probabilities(&m.text)[1]).collect();
    precision_recall_curve(&spam, &scores)
}

fn eval(args: EvalArgs) -> anyhow::Result<()> {
    let selected = args.device.select()?;
    let (model, encoder, state) = checkpoint::load(&args.checkpoint, &selected.device)?;
    let collection = load_sms_spam(args.data.as_deref())?;
    let splits = split(&collection.messages, state.config.protocol, state.config.seed);
    let probabilities = predict(
        &model,
        &encoder,
        &splits.test,
        state.classifier.max_len,
        64,
        &selected.device,
    )?;
    println!(
        "{} {:?} ({:?} pooling), {} test messages ({:?})",
        state.classifier.backbone.name(),
        state.config.regime,
        state.classifier.pooling,
        splits.test.len(),
        state.config.protocol
    );
    print_report(&report(&splits.test, &probabilities));
    Ok(())
}

fn predict_messages(args: PredictArgs) -> anyhow::Result<()> {
    let selected = args.device.select()?;
    let (model, encoder, state) = checkpoint::load(&args.checkpoint, &selected.device)?;
    let messages: Vec<Message> = args
        .messages
        .iter()
        .map(|text| Message {
            label: Label::Ham,
            text: text.clone(),
        })
        .collect();
    let probabilities = predict(
        &model,
        &encoder,
        &messages,
        state.classifier.max_len,
        64,
        &selected.device,
    )?;
    for (message, p) in messages.iter().zip(probabilities) {
        let label = if p[1] > p[0] { Label::Spam } else { Label::Ham };
        println!("{} (p = {:.4})  {}", label.name(), p[label.index()], message.text);
    }
    Ok(())
}

fn grid(args: GridArgs) -> anyhow::Result<()> {
    let selected = args.run.device.announce()?;
    let device = selected.device.autodiff();
    if args.out.is_file() {
        bail!("--out {} is a file: give a directory", args.out.display());
    }
    if args.seeds.is_empty() {
        bail!("--seeds is empty: give at least one seed, e.g. --seeds 1,2,3");
    }
    // A run's directory, locked for this grid alone; it holds the grid's own files, never a checkpoint.
    let _grid_dir = RunDir::open(&args.out, Start::Overwrite).map_err(classify::ClassifyError::from)?;
    check_tables_are_the_grids(&args.out)?;
    let collection = load_sms_spam(args.run.data.as_deref())?;
    let splits: Vec<Splits> = args
        .seeds
        .iter()
        .map(|&seed| split(&collection.messages, args.run.protocol, seed))
        .collect();
    print_data(&collection, &splits[0], args.run.protocol);
    let mut rows: Vec<ResultRow> = Vec::new();
    for (&seed, splits) in args.seeds.iter().zip(&splits) {
        rows.extend(baseline_rows(splits, seed));
    }
    for &backbone in &args.backbones {
        for &regime in &args.regimes {
            for (&seed, splits) in args.seeds.iter().zip(&splits) {
                let config = args.run.config(backbone, regime, seed);
                if let Some(row) = finished_row(&args.out, &config)? {
                    println!("{} {:?} seed {seed}: measured before", backbone.name(), regime);
                    rows.push(row);
                    continue;
                }
                println!("{} {:?} seed {seed} ...", backbone.name(), regime);
                let steps = splits.train.len().div_ceil(config.batch_size) * config.epochs;
                let progress = progress_bar(steps, 0);
                let pretrained = load_backbone(backbone, args.run.from(backbone), &device).map_err(with_command)?;
                let experiment = run_experiment(&config, pretrained, splits, &device, None, Some(&progress))
                    .map_err(with_command)?;
                progress.finish();
                let row = experiment_row(&config, &experiment);
                println!(
                    "  test accuracy {:.4}, spam F1 {:.4}, {:.0} s",
                    row.accuracy, row.spam_f1, row.train_seconds
                );
                keep_row(&args.out, &config, &row)?;
                rows.push(row);
                write_tables(&args.out, &rows)?;
            }
        }
    }
    println!("\n{}", write_tables(&args.out, &rows)?);
    println!("written: {}/results.md and results.csv", args.out.display());
    Ok(())
}

/// Writes the summary table (results.md) and every run's row (results.csv) into `out`; returns the summary.
fn write_tables(out: &Path, rows: &[ResultRow]) -> anyhow::Result<String> {
    let summary = markdown_table(&summarize(rows));
    std::fs::write(out.join(MARKDOWN_FILE), &summary)?;
    std::fs::write(out.join(CSV_FILE), csv_table(rows))?;
    Ok(summary)
}

/// The sizes of the collection and of its splits.
fn print_data(collection: &Collection, splits: &Splits, protocol: Protocol) {
    let spam = |part: &[Message]| part.iter().filter(|m| m.label == Label::Spam).count();
    println!(
        "data: {} distinct messages ({} exact repeats removed); {} training, {} validation, {} test ({} spam), {:?}",
        collection.messages.len(),
        collection.duplicates_removed,
        splits.train.len(),
        splits.val.len(),
        splits.test.len(),
        spam(&splits.test),
        protocol
    );
}
