//! Chapter 6's pretraining step timed on chapter 6's code and on this appendix's kernels, taking turns:
//! `cargo run --release -p cpu_speed --bin bert-fast -- bench --config small`. Both start from the same weights and
//! batches; each round times `--steps` steps of one, then of the other, after 5 untimed ones.

use bert::RunConfig;
use bert::data::split_sequences;
use bert::training::{MaskedLanguageModeling, learn_vocab, trainer};
use clap::{Args, Parser, Subcommand};
use cpu_speed::bench::Turns;
use cpu_speed::bert::{fast, with_shards};

/// mimalloc keeps the memory of freed tensors for the next ones (see chapter 5's `main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(about = "Chapter 6's masked-LM pretraining step on chapter 6's code and on the appendix's kernels")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Time pretraining steps alone (no evaluation) on both, taking turns: milliseconds per step.
    Bench(BenchArgs),
}

#[derive(Args, Debug)]
struct BenchArgs {
    #[command(flatten)]
    turns: Turns,
    /// A preset (small, tiny) or a JSON file of a `RunConfig`.
    #[arg(long, default_value = "small")]
    config: String,
    #[arg(long)]
    data: Option<std::path::PathBuf>,
}

fn main() -> anyhow::Result<()> {
    cpu_speed::memory::keep_freed_memory();
    let Command::Bench(args) = Cli::parse().command;
    let turns = &args.turns;
    let device = turns.device.announce()?.device.autodiff();
    let config = RunConfig::named_or_read(&args.config)?;
    let text = tokens::data::load_tiny_shakespeare(args.data.as_deref())?;
    let vocab = learn_vocab(&text, &config)?;
    let splits = split_sequences(&text, &vocab, config.model.max_position_embeddings);
    let task = || MaskedLanguageModeling::new(config.clone(), vocab.clone(), splits.train.clone(), &splits.val);
    println!(
        "model {:?}: {} layers, width {}, batch {}, dropout {} (attention {})",
        args.config,
        config.model.num_hidden_layers,
        config.model.hidden_size,
        config.training.batch_size,
        config.model.hidden_dropout_prob,
        config.model.attention_probs_dropout_prob
    );
    let chapter = || Ok(trainer(task()?, &device).time_steps(5, turns.steps)?);
    let kernels = || {
        let chapter = trainer(task()?, &device);
        let mut kernels = match turns.slices {
            Some(slices) => with_shards(chapter, slices),
            None => fast(chapter),
        };
        Ok(kernels.time_steps(5, turns.steps)?)
    };
    // Milliseconds only: the kernels pad each slice on its own, so they compute fewer padded positions per batch.
    turns.take_turns("chapter 6's code", chapter, kernels, |name, timed| {
        println!("{name}: {:.1} ms/step", 1000.0 * timed.seconds / timed.steps as f64);
    })
}
