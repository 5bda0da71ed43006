//! GPT-2-shaped generation on chapter 5's sampler and on this appendix's kernels, taking turns:
//! `cargo run --release -p cpu_speed --bin gpt2-fast -- bench`. The benchmark of `gpt2 bench` (GPT-2 124M's shape
//! with random weights, new tokens after a one-token prompt, top-k 200), with and without the KV cache; each round
//! generates with the chapter's forward passes and with the kernels', which goes first alternating.
//! `chapters/ch08_gpt2/fixtures/hf_generate_bench.py` times `transformers` on the same task.

use clap::{Args, Parser, Subcommand};
use common::cli::{DeviceArgs, at_least_one};
use cpu_speed::bench::take_turns;
use cpu_speed::generation::FastDecoder;
use gpt::bench::sampling_throughput;
use gpt2::Gpt2Config;

/// mimalloc keeps the memory of freed tensors for the next ones (see chapter 5's `main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(about = "GPT-2-shaped generation on chapter 5's sampler and on the appendix's kernels")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Time generation on both, with and without the KV cache, taking turns: new tokens per second.
    Bench(BenchArgs),
}

#[derive(Args, Debug)]
struct BenchArgs {
    #[command(flatten)]
    device: DeviceArgs,
    /// New tokens generated per timing.
    #[arg(long, default_value_t = 100, value_parser = at_least_one)]
    new_tokens: usize,
    /// Rounds: the chapter's passes then the kernels', then the other way round, and so on.
    #[arg(long, default_value_t = 2, value_parser = at_least_one)]
    rounds: usize,
}

fn main() -> anyhow::Result<()> {
    cpu_speed::memory::keep_freed_memory();
    let Command::Bench(args) = Cli::parse().command;
    let selected = args.device.announce()?;
    let config = Gpt2Config::default().to_gpt()?;
    let model = config.init(&selected.device);
    println!(
        "GPT-2 124M's shape with random weights ({:.1}M parameters); {} new tokens after a one-token prompt, top-k 200",
        config.num_params() as f64 / 1e6,
        args.new_tokens
    );
    sampling_throughput(&model, 8, true); // warm-up: the allocator's first pages, the thread pool
    for use_cache in [true, false] {
        println!("KV cache {use_cache}:");
        take_turns(
            args.rounds,
            "chapter 5's sampler",
            || Ok(sampling_throughput(&model, args.new_tokens, use_cache)),
            || Ok(sampling_throughput(&FastDecoder(&model), args.new_tokens, use_cache)),
            |name, tokens_per_second| println!("  {name}: {tokens_per_second:.1} tokens/s"),
        )?;
    }
    Ok(())
}
