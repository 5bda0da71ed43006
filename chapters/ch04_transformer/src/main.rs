//! Chapter 4's job: train the encoder-decoder Transformer to read numbers written in words, then measure it on
//! numbers it has never seen.
//!
//! `cargo run --release -p transformer -- --help` lists the options.

use std::path::PathBuf;

use burn::prelude::*;
use clap::Parser;
use common::cli::DeviceArgs;
use common::figures::write_loss_curves;
use common::metrics::bleu::corpus_bleu;
use common::train::{RunDir, Start};
use plotters::prelude::{IntoDrawingArea, SVGBackend};
use transformer::data::{LARGEST_NUMBER, Splits, Vocabulary, number_to_words};
use transformer::decoding::{exact_match, predict};
use transformer::plots::{cross_attention_map, draw_cross_attention};
use transformer::training::{TrainingConfig, train};
use transformer::{NormPosition, TransformerConfig};

#[derive(Parser, Debug)]
#[command(about = "Chapter 4: train a Transformer to turn numbers in words into digits")]
struct Args {
    #[command(flatten)]
    device: DeviceArgs,
    #[arg(long, default_value_t = 3000)]
    steps: usize,
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Numbers in the training, validation and test splits (disjoint, drawn from 0..1,000,000).
    #[arg(long, default_value_t = 20_000)]
    train: usize,
    #[arg(long, default_value_t = 1_000)]
    val: usize,
    #[arg(long, default_value_t = 5_000)]
    test: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The paper's post-LN arrangement instead of GPT-2's pre-LN.
    #[arg(long)]
    post_ln: bool,
    /// The run's directory: the best checkpoint (in `checkpoint/`) and the figures go there; other files there
    /// are left alone.
    #[arg(long, default_value = "runs/ch04")]
    out: PathBuf,
    /// Train even though --out holds a checkpoint, replacing it at the first save.
    #[arg(long)]
    overwrite: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.steps > 0,
        "--steps must be at least 1: with none, no model is trained and no checkpoint is written"
    );
    anyhow::ensure!(args.batch_size > 0, "--batch-size must be at least 1");
    anyhow::ensure!(
        args.train > 0 && args.val > 0,
        "--train and --val need at least one number each: the model learns from the first and the best checkpoint \
         is chosen on the second"
    );
    anyhow::ensure!(
        args.test > 0,
        "--test needs at least one number: the trained model is measured on the test split"
    );
    let asked = args.train.saturating_add(args.val).saturating_add(args.test);
    anyhow::ensure!(
        asked <= LARGEST_NUMBER as usize,
        "--train, --val and --test ask for {asked} numbers together, but the splits share none and only \
         {LARGEST_NUMBER} exist (0 to {}): ask for fewer",
        LARGEST_NUMBER - 1
    );
    let run = RunDir::open(&args.out, Start::from_flags(false, args.overwrite))?;
    let selected = args.device.announce()?;
    let splits = Splits::generate(args.seed, args.train, args.val, args.test);
    println!(
        "task: numbers in words -> digits; {} train / {} val / {} test numbers, none shared",
        splits.train.len(),
        splits.val.len(),
        splits.test.len()
    );
    let model_config = TransformerConfig::new(Vocabulary::words().len(), Vocabulary::digits().len(), 16)
        .with_norm_position(if args.post_ln {
            NormPosition::Post
        } else {
            NormPosition::Pre
        });
    println!(
        "model: {} parameters",
        burn::module::Module::num_params(&model_config.init(&Device::flex()))
    );
    let config = TrainingConfig::new()
        .with_steps(args.steps)
        .with_batch_size(args.batch_size)
        .with_seed(args.seed);
    let checkpoint = run.checkpoint();
    let (model, report) = train(
        &model_config,
        &config,
        &splits.train,
        &splits.val,
        &selected.device.clone().autodiff(),
        Some(&checkpoint),
        true,
    )?;
    println!(
        "trained {} steps in {:.1} s; best validation loss {:.4} at step {}, checkpoint {}",
        config.steps,
        report.seconds,
        report.best_val_loss,
        report.best_step + 1,
        checkpoint.display()
    );
    let png = write_loss_curves(run.root(), &report.history)?;
    println!("loss curve: {} (and .svg)", png.display());

    let device: Device = selected.device;
    let predictions = predict(&model, &splits.test, 256, &device);
    println!(
        "test exact match: {:.2}% of {} numbers",
        100.0 * exact_match(&predictions, &splits.test),
        splits.test.len()
    );
    let digits = Vocabulary::digits();
    // BLEU over digit tokens: partial credit for numbers that are almost right.
    let as_tokens = |ids: &[usize]| ids.iter().map(|&id| digits.token(id)).collect::<Vec<_>>();
    let hypotheses: Vec<Vec<&str>> = predictions.iter().map(|p| as_tokens(p)).collect();
    let references: Vec<Vec<&str>> = splits.test.iter().map(|e| as_tokens(&e.tgt)).collect();
    println!(
        "test corpus BLEU (digit tokens): {:.2}",
        corpus_bleu(&hypotheses, &references).score
    );
    for (example, predicted) in splits.test.iter().zip(&predictions).take(5) {
        println!(
            "  {:<62} -> {}",
            number_to_words(example.number),
            digits.decode(predicted, "")
        );
    }
    let attention_figure = run.root().join("cross_attention.svg");
    let example = transformer::data::Example::new(402_017);
    let (src, tgt, weights) = cross_attention_map(&model, &example, &device);
    let area = SVGBackend::new(&attention_figure, (720, 520)).into_drawing_area();
    draw_cross_attention(&area, &src, &tgt, &weights)
        .map_err(|e| anyhow::anyhow!("cannot draw the cross-attention: {e}"))?;
    println!("cross-attention while writing 402017: {}", attention_figure.display());
    Ok(())
}
