//! Chapter 7's fine-tuning step timed on chapter 7's code and on this appendix's kernels, taking turns:
//! `cargo run --release -p cpu_speed --bin classify-fast -- bench`. Both fine-tune the same backbone (by default
//! all-MiniLM-L6-v2, whole) on the collection's first messages in the file's order, as
//! `chapters/ch07_classify/fixtures/pytorch_finetune.py` does; each round times `--steps` steps of one, then of the
//! other, after `--warmup` untimed ones.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use classify::data::parse_collection;
use classify::training::{FineTuneConfig, trainer};
use classify::{BackboneKind, Regime, load_backbone};
use common::SMS_SPAM;
use cpu_speed::bench::Turns;
use cpu_speed::classify::{fast, with_shards};

/// mimalloc keeps the memory of freed tensors for the next ones (see chapter 5's `main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(about = "Chapter 7's fine-tuning step on chapter 7's code and on the appendix's kernels")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Time fine-tuning steps alone (no evaluation) on both, taking turns: examples per second.
    Bench(BenchArgs),
}

#[derive(Args, Debug)]
struct BenchArgs {
    #[command(flatten)]
    turns: Turns,
    #[arg(long, value_enum, default_value = "minilm")]
    backbone: BackboneKind,
    #[arg(long, value_enum, default_value = "full")]
    regime: Regime,
    /// The backbone's Hugging Face folder or pretraining run (default: the cached download, or the chapter's run).
    #[arg(long)]
    from: Option<PathBuf>,
    /// Untimed steps before the timed ones (batches of 16).
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// The SMS Spam Collection's file (default: the data directory's copy, or the download).
    #[arg(long)]
    data: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    cpu_speed::memory::keep_freed_memory();
    let Command::Bench(args) = Cli::parse().command;
    let turns = &args.turns;
    let device = turns.device.announce()?.device.autodiff();
    let mut config = FineTuneConfig::new(args.backbone, args.regime);
    config.epochs = 1;
    let path = SMS_SPAM.locate(args.data.as_deref())?;
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut messages = parse_collection(&text, &path)?;
    let needed = (args.warmup + turns.steps) * config.batch_size;
    if messages.len() < needed {
        bail!(
            "{} holds {} messages; --warmup and --steps ask for {needed}",
            path.display(),
            messages.len()
        );
    }
    messages.truncate(needed);
    println!(
        "{:?} backbone, {:?} regime: {} messages in batches of {}, cut at {} tokens",
        args.backbone, args.regime, needed, config.batch_size, config.max_len
    );
    let chapter_trainer = || -> anyhow::Result<_> {
        let backbone = load_backbone(args.backbone, args.from.as_deref(), &device)?;
        Ok(trainer(&config, backbone, &messages, &messages[..1], &device)?)
    };
    let chapter = || Ok(chapter_trainer()?.time_steps(args.warmup, turns.steps)?);
    let kernels = || {
        let mut kernels = match turns.slices {
            Some(slices) => with_shards(chapter_trainer()?, slices),
            None => fast(chapter_trainer()?),
        };
        Ok(kernels.time_steps(args.warmup, turns.steps)?)
    };
    turns.take_turns("chapter 7's code", chapter, kernels, |name, timed| {
        println!(
            "{name}: {:.1} examples/s, {:.1} ms/step",
            timed.items as f64 / timed.seconds,
            1000.0 * timed.seconds / timed.steps as f64
        );
    })
}
