//! Chapter 8's commands: sample from a GPT-2 and measure its perplexity on a text.
//!
//! `cargo run --release -p gpt2 -- sample --model DIR --prompt "..."` continues the prompt with chapter 5's sampler
//! (greedy, temperature, top-k, top-p, the KV cache); `... -- perplexity --model DIR --data FILE` scores a text by a
//! sliding window; `... -- bench` times generation with GPT-2 124M's shape and random weights; `... -- compare --run
//! DIR --run DIR` sets chapter 5 runs side by side on held-out text (the book's worked example).
//!
//! `DIR` is a Hugging Face GPT-2 folder (`config.json`, `model.safetensors`, `vocab.json` + `merges.txt` or
//! `tokenizer.json`), or a size's name (`gpt2`, `gpt2-medium`, `gpt2-large`, `gpt2-xl`), downloaded from the hub into
//! the data directory's `models/` on first use and checked by SHA-256. `--help` on each lists the options.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use common::cli::{DeviceArgs, at_least_one};
use common::device::peak_memory_bytes;
use gpt::bench::sampling_throughput;
use gpt::training::checkpoint::load_checkpoint;
use gpt::{SamplingConfig, Tokenizer, generate};
use gpt2::compare::{evaluate_held_out, validation_start};
use gpt2::{Gpt2Config, Gpt2Error, Gpt2Tokenizer, load_gpt2, sliding_window_perplexity};

/// mimalloc keeps the memory of freed tensors for the next ones (see chapter 5's `main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(about = "Chapter 8: GPT-2 from a Hugging Face folder: sample, and measure perplexity")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Continue a prompt.
    Sample(SampleArgs),
    /// The perplexity of a text file, by a sliding window over the model's context.
    Perplexity(PerplexityArgs),
    /// Generation tokens per second, with and without the KV cache, of a GPT-2-shaped model with random weights.
    Bench(BenchArgs),
    /// Chapter 5 runs trained on the same text, compared on the part none of them trained on: bits per character
    /// and ROUGE of continued lines.
    Compare(CompareArgs),
}

#[derive(Args, Debug)]
struct CompareArgs {
    #[command(flatten)]
    device: DeviceArgs,
    /// A run directory of `cargo run -p gpt -- train` (give --run once per model).
    #[arg(long = "run", required = true)]
    runs: Vec<PathBuf>,
    /// The text the runs were trained on (default: Tiny Shakespeare).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Held-out lines to continue.
    #[arg(long, default_value_t = 40, value_parser = at_least_one)]
    lines: usize,
}

#[derive(Args, Debug)]
struct BenchArgs {
    #[command(flatten)]
    device: DeviceArgs,
    /// New tokens to generate after a one-token prompt, each way.
    #[arg(long, default_value_t = 100, value_parser = at_least_one)]
    new_tokens: usize,
}

#[derive(Args, Debug)]
struct ModelArgs {
    #[command(flatten)]
    device: DeviceArgs,
    /// A Hugging Face GPT-2 folder, or a size's name (gpt2, gpt2-medium, gpt2-large, gpt2-xl), downloaded into the
    /// data directory's models/ on first use.
    #[arg(long, value_name = "DIR|NAME", default_value = "gpt2")]
    model: String,
}

#[derive(Args, Debug)]
struct SampleArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[arg(long)]
    prompt: String,
    #[arg(long, default_value_t = 50)]
    max_new_tokens: usize,
    /// 0 is greedy.
    #[arg(long, default_value_t = 1.0)]
    temperature: f32,
    /// Draw from the k likeliest tokens only (0: from all of them, as chapter 5's `sample`).
    #[arg(long, default_value_t = 0)]
    top_k: usize,
    #[arg(long)]
    top_p: Option<f32>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Recompute every position at every step instead of reusing the cached keys and values.
    #[arg(long)]
    no_cache: bool,
}

#[derive(Args, Debug)]
struct PerplexityArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// The text to score.
    #[arg(long)]
    data: PathBuf,
    /// How far each window moves on (default: half the context, so every scored token has at least half a
    /// context before it).
    #[arg(long, value_parser = at_least_one)]
    stride: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Sample(args) => sample(args),
        Command::Perplexity(args) => perplexity(args),
        Command::Bench(args) => bench(args),
        Command::Compare(args) => compare(args),
    }
}

fn load(args: &ModelArgs) -> anyhow::Result<(gpt::Gpt, Gpt2Tokenizer)> {
    let selected = args.device.announce()?;
    let folder = gpt2::hub::locate(&args.model)?;
    let started = Instant::now();
    let (config, model) = load_gpt2(&folder, &selected.device)?;
    let tokenizer = Gpt2Tokenizer::from_folder(&folder)?;
    if tokenizer.vocab_size() > config.vocab_size {
        return Err(Gpt2Error::TokenizerDoesNotFitModel {
            tokenizer: tokenizer.vocab_size(),
            model: config.vocab_size,
        }
        .into());
    }
    println!(
        "{}: {} layers, {} wide, {} heads, context {}, {:.1}M parameters, loaded in {:.1} s",
        folder.display(),
        config.n_layer,
        config.n_embd,
        config.n_head,
        config.block_size,
        config.num_params() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok((model, tokenizer))
}

fn sample(args: SampleArgs) -> anyhow::Result<()> {
    let (model, tokenizer) = load(&args.model)?;
    let prompt = tokenizer.encode_with_end_of_text(&args.prompt);
    if prompt.is_empty() {
        bail!("the prompt is empty: give --prompt some text");
    }
    let mut config = SamplingConfig::new()
        .with_temperature(args.temperature)
        .with_seed(args.seed)
        .with_use_cache(!args.no_cache);
    config.top_k = (args.top_k > 0).then_some(args.top_k);
    config.top_p = args.top_p;
    let started = Instant::now();
    let end = tokenizer.end_of_text();
    let generated = generate(&model, &prompt, args.max_new_tokens, &config, |tokens| {
        end.is_some() && tokens.last().copied() == end
    })?;
    let seconds = started.elapsed().as_secs_f64();
    println!("{}{}", args.prompt, tokenizer.decode(&generated.tokens)?);
    if generated.prompt_tokens_dropped > 0 {
        println!(
            "(the prompt's first {} tokens did not fit the context)",
            generated.prompt_tokens_dropped
        );
    }
    println!(
        "{} tokens in {seconds:.2} s ({:.1} tokens/s)",
        generated.tokens.len(),
        generated.tokens.len() as f64 / seconds
    );
    Ok(())
}

fn perplexity(args: PerplexityArgs) -> anyhow::Result<()> {
    let (model, tokenizer) = load(&args.model)?;
    let text =
        std::fs::read_to_string(&args.data).with_context(|| format!("cannot read --data {}", args.data.display()))?;
    let ids = tokenizer.encode_with_end_of_text(&text);
    // A context of one token has no half: a stride of 1 then.
    let stride = args.stride.unwrap_or(model.block_size() / 2).max(1);
    let started = Instant::now();
    let result = sliding_window_perplexity(&model, &ids, stride)?;
    println!(
        "{}: {} tokens, {} scored (window {}, stride {stride}): mean NLL {:.4} nats, perplexity {:.2} ({:.1} s)",
        args.data.display(),
        ids.len(),
        result.tokens_scored,
        model.block_size(),
        result.mean_nll,
        result.perplexity,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let selected = args.device.announce()?;
    let config = Gpt2Config::default().to_gpt()?;
    let model = config.init(&selected.device);
    println!(
        "GPT-2 124M's shape with random weights ({:.1}M parameters); {} new tokens after a one-token prompt, top-k 200",
        config.num_params() as f64 / 1e6,
        args.new_tokens
    );
    for use_cache in [true, false] {
        let tokens_per_second = sampling_throughput(&model, args.new_tokens, use_cache);
        println!("  KV cache {use_cache:5}: {tokens_per_second:.1} tokens/s");
    }
    if let Some(bytes) = peak_memory_bytes() {
        println!("peak memory: {:.0} MB", bytes as f64 / 1e6);
    }
    Ok(())
}

fn compare(args: CompareArgs) -> anyhow::Result<()> {
    let selected = args.device.announce()?;
    let text = common::TINY_SHAKESPEARE.read_to_string(args.data.as_deref())?;
    let mut runs = Vec::new();
    for run in &args.runs {
        let (model, config, tokenizer) = load_checkpoint(run, &selected.device)?;
        runs.push((run, model, config, tokenizer));
    }
    let mut start = 0;
    for (_, _, _, tokenizer) in &runs {
        start = start.max(validation_start(&text, tokenizer)?);
    }
    let held_out = &text[start..];
    println!(
        "held-out text: the last {} characters, which no run trained on; {} lines continued greedily from their \
         first three words\n",
        held_out.chars().count(),
        args.lines
    );
    println!(
        "| run | tokenizer | parameters | tokens scored | perplexity per token | bits per character | ROUGE-1 | ROUGE-2 | ROUGE-L |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (run, model, config, tokenizer) in &runs {
        let started = Instant::now();
        let scores = evaluate_held_out(model, tokenizer, held_out, args.lines)?;
        let kind = match tokenizer {
            Tokenizer::Char(_) => "characters".to_string(),
            Tokenizer::Bpe(_) => format!("byte-level BPE, {}", tokenizer.vocab_size()),
        };
        println!(
            "| {} | {kind} | {} | {} | {:.2} | {:.3} | {:.3} | {:.3} | {:.3} |",
            run.display(),
            config.model.num_params(),
            scores.tokens_scored,
            scores.perplexity,
            scores.bits_per_char,
            scores.rouge1,
            scores.rouge2,
            scores.rouge_l
        );
        eprintln!(
            "({} evaluated in {:.0} s)",
            run.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
