//! The book's main job: pretrain a toy GPT on Tiny Shakespeare, then sample from it.
//!
//! `cargo run --release -p gpt -- train` trains nanoGPT's "baby" configuration and prints a sample;
//! `... -- sample --checkpoint runs/gpt --prompt "ROMEO:"` samples from a saved run; `... -- bench` measures
//! throughput. `--help` on each lists the options.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, anyhow, bail};
use burn::module::Module;
use burn::prelude::*;
use clap::{Args, Parser, Subcommand};
use common::cli::DeviceArgs;
use common::figures::{write_loss_curve_png, write_loss_curve_svg};
use common::train::{RunDir, Start, progress_bar};
use common::{DeviceChoice, select_device};
use gpt::bench::{peak_memory_bytes, sampling_throughput, training_throughput};
use gpt::fast;
use gpt::training::load_checkpoint;
use gpt::{Gpt, GptError, RunConfig, SamplingConfig, TokenSplits, Tokenizer, TokenizerKind, Trainer, generate};

/// mimalloc keeps the memory of freed tensors for the next ones; glibc's allocator returns large blocks to the
/// kernel and then pays a page fault per page to get them back, about 15% of a CPU training step.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(about = "Chapter 5: pretrain a GPT on Tiny Shakespeare and sample from it")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train (or resume) a GPT, save it with its loss curve, then print a sample.
    Train(TrainArgs),
    /// Continue a prompt with a trained GPT.
    Sample(SampleArgs),
    /// Training and sampling throughput on each backend, and peak memory.
    Bench(BenchArgs),
}

#[derive(Args, Debug)]
struct TrainArgs {
    #[command(flatten)]
    device: DeviceArgs,
    /// A preset (baby: nanoGPT's CPU run; small: its GPU run; tiny: seconds) or a JSON file of a `RunConfig`.
    #[arg(long, default_value = "baby", conflicts_with = "resume")]
    config: String,
    /// Stop after this many steps, at most the configuration's max_iters (the learning-rate schedule follows the
    /// configuration).
    #[arg(long)]
    max_iters: Option<usize>,
    #[arg(long, conflicts_with = "resume")]
    seed: Option<u64>,
    /// A text file to train on instead of Tiny Shakespeare.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Byte-level BPE with this many tokens instead of characters.
    #[arg(long, conflicts_with = "resume")]
    bpe: Option<usize>,
    /// The run's directory: its checkpoint (model, optimizer, step, configuration, tokenizer) in `checkpoint/`, and
    /// the loss curve. Other files there are left alone.
    #[arg(long, default_value = "runs/gpt")]
    out: PathBuf,
    /// Continue the run saved in --out, with its own configuration, seed and tokenizer.
    #[arg(long)]
    resume: bool,
    /// Start a new run in an --out that holds a checkpoint, replacing it at the first save.
    #[arg(long, conflicts_with = "resume")]
    overwrite: bool,
    /// Tokens to sample after training (0: none).
    #[arg(long, default_value_t = 500)]
    sample_tokens: usize,
}

#[derive(Args, Debug)]
struct SampleArgs {
    #[command(flatten)]
    device: DeviceArgs,
    /// A run's directory written by `train` (its --out), or its `checkpoint/` directory.
    #[arg(long, default_value = "runs/gpt")]
    checkpoint: PathBuf,
    #[arg(long, default_value = "\n")]
    prompt: String,
    #[arg(long, default_value_t = 500)]
    max_new_tokens: usize,
    /// 0 for greedy decoding.
    #[arg(long, default_value_t = 0.8)]
    temperature: f32,
    /// Sample among the k most likely tokens only; 0 turns the filter off (the whole vocabulary).
    #[arg(long, default_value_t = 200)]
    top_k: usize,
    #[arg(long)]
    top_p: Option<f32>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Stop as soon as the text generated contains this.
    #[arg(long)]
    stop: Option<String>,
    /// Recompute every position at every step instead of using the KV cache.
    #[arg(long)]
    no_cache: bool,
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// The model to measure: a preset or a JSON `RunConfig` (vocabulary 65, as Tiny Shakespeare's).
    #[arg(long, default_value = "baby")]
    config: String,
    /// Timed training steps (after 5 untimed ones).
    #[arg(long, default_value_t = 50)]
    steps: usize,
    /// New tokens per sampling measurement.
    #[arg(long, default_value_t = 500)]
    new_tokens: usize,
    /// Backends to measure: cpu, wgpu or auto (every one available: flex, and wgpu when it finds an adapter).
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Train(args) => train(args),
        Command::Sample(args) => sample(args),
        Command::Bench(args) => bench(args),
    }
}

fn train(args: TrainArgs) -> anyhow::Result<()> {
    let selected = args.device.select()?;
    println!("device: {}", selected.description);
    let device = selected.device.autodiff();
    let run = RunDir::open(&args.out, Start::from_flags(args.resume, args.overwrite)).map_err(GptError::from)?;
    let text = tokens::data::load_tiny_shakespeare(args.data.as_deref())?;
    let started = Instant::now();
    let (mut trainer, tokenizer, data) = if args.resume {
        let (trainer, tokenizer) = Trainer::resume(&run.checkpoint(), &device)?;
        let data = TokenSplits::encode(&text, &tokenizer).map_err(|e| {
            anyhow!("the training text does not fit the checkpoint's tokenizer ({e}); resume with the same --data")
        })?;
        println!("resuming {} at step {}", run.checkpoint().display(), trainer.step);
        (trainer, tokenizer, data)
    } else {
        let kind = args.bpe.map_or(TokenizerKind::Char, TokenizerKind::Bpe);
        let (tokenizer, data) = TokenSplits::build(&text, kind)?;
        let mut config = RunConfig::named(&args.config, tokenizer.vocab_size())?;
        config.tokenizer = kind;
        if let Some(seed) = args.seed {
            config.training.seed = seed;
        }
        (Trainer::new(config, &device), tokenizer, data)
    };
    let max_iters = trainer.config.training.max_iters;
    let until = args.max_iters.unwrap_or(max_iters);
    if until > max_iters {
        bail!(
            "--max-iters {until} is past the configuration's max_iters {max_iters}, where its learning-rate \
             schedule ends: pass at most {max_iters}, or a --config file with a larger max_iters (and lr_decay_iters)"
        );
    }
    let config = trainer.config.clone();
    trainer = fast::trainer(trainer, &device);
    println!(
        "data: {} training and {} validation tokens, vocabulary of {}",
        data.train.len(),
        data.val.len(),
        tokenizer.vocab_size()
    );
    println!(
        "model: {} parameters ({} layers, {} heads, width {}, context {})",
        trainer.model.num_params(),
        config.model.n_layer,
        config.model.n_head,
        config.model.n_embd,
        config.model.block_size
    );
    if trainer.shards() > 1 {
        println!(
            "each batch of {} is split over {} threads (data parallelism; RAYON_NUM_THREADS sets how many)",
            config.training.batch_size,
            trainer.shards()
        );
    }
    let progress = progress_bar(until, trainer.step);
    trainer.train(&data, until, Some((&run.checkpoint(), &tokenizer)), Some(&progress))?;
    progress.finish();
    // A run stopped between two estimates (--max-iters) is estimated where it stopped, so the figure is the model's.
    let last = match trainer.evaluations.last() {
        Some(last) if last.step == trainer.step => *last,
        _ => trainer.evaluate(&data)?,
    };
    trainer.save(&run.checkpoint(), &tokenizer)?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "trained to step {} in {seconds:.1} s; checkpoint {}",
        trainer.step,
        run.checkpoint().display()
    );
    println!(
        "final estimate (step {}): train loss {:.4}, val loss {:.4}, val perplexity {:.2}",
        last.step,
        last.train_loss,
        last.val_loss,
        last.val_loss.exp()
    );
    let val_loss = trainer.whole_split_loss(&data.val)?;
    println!(
        "whole validation split ({} tokens, no sampling noise): loss {val_loss:.4}, perplexity {:.2}",
        data.val.len(),
        val_loss.exp()
    );
    let (png, svg) = (run.root().join("loss.png"), run.root().join("loss.svg"));
    write_loss_curve_png(&png, &trainer.history).map_err(|e| anyhow!("cannot draw {}: {e}", png.display()))?;
    write_loss_curve_svg(&svg, &trainer.history).map_err(|e| anyhow!("cannot draw {}: {e}", svg.display()))?;
    println!("loss curve: {} (and .svg)", png.display());
    if let Some(peak) = peak_memory_bytes() {
        println!("peak memory: {:.0} MB", peak as f64 / 1e6);
    }
    if args.sample_tokens > 0 {
        let model = trainer.model.valid();
        let sampling = SamplingConfig::new().with_temperature(0.8).with_top_k(Some(200));
        println!(
            "\n--- sample ({} tokens, temperature 0.8, top-k 200) ---",
            args.sample_tokens
        );
        print_sample(&model, &tokenizer, "\n", args.sample_tokens, &sampling, None)?;
    }
    Ok(())
}

fn sample(args: SampleArgs) -> anyhow::Result<()> {
    let selected = args.device.select()?;
    // On stderr, so that the sample alone goes to stdout (and to a file it is redirected to).
    eprintln!("device: {}", selected.description);
    let (model, _, tokenizer) = load_checkpoint(&args.checkpoint, &selected.device)?;
    let sampling = SamplingConfig::new()
        .with_temperature(args.temperature)
        .with_top_k((args.top_k > 0).then_some(args.top_k))
        .with_top_p(args.top_p)
        .with_seed(args.seed)
        .with_use_cache(!args.no_cache);
    print_sample(
        &model,
        &tokenizer,
        &args.prompt,
        args.max_new_tokens,
        &sampling,
        args.stop.as_deref(),
    )
}

fn print_sample(
    model: &Gpt,
    tokenizer: &Tokenizer,
    prompt: &str,
    max_new_tokens: usize,
    sampling: &SamplingConfig,
    stop: Option<&str>,
) -> anyhow::Result<()> {
    let ids = tokenizer
        .encode(prompt)
        .map_err(|e| anyhow!("the prompt cannot be tokenized: {e}"))?;
    let stop_here = |new: &[u32]| stop.is_some_and(|s| tokenizer.decode(new).is_ok_and(|text| text.contains(s)));
    let generation = generate(model, &ids, max_new_tokens, sampling, stop_here)?;
    if generation.prompt_tokens_dropped > 0 {
        eprintln!(
            "note: the prompt is longer than the context of {} tokens; the model sees only its last {} (dropped {})",
            model.block_size(),
            model.block_size(),
            generation.prompt_tokens_dropped
        );
    }
    let text = tokenizer.decode(&generation.tokens)?;
    let text = match stop.and_then(|s| text.find(s).map(|at| at + s.len())) {
        Some(end) => &text[..end],
        None => &text,
    };
    println!("{prompt}{text}");
    Ok(())
}

fn bench(args: BenchArgs) -> anyhow::Result<()> {
    common::device::quiet_gpu_probe();
    let config = RunConfig::named(&args.config, 65)?;
    // Each backend under its description, which says when wgpu's adapter is a software one (far slower than flex).
    let choices = match args.device {
        DeviceChoice::Auto => vec![DeviceChoice::Cpu, DeviceChoice::Wgpu],
        choice => vec![choice],
    };
    let mut devices: Vec<(String, Device)> = Vec::new();
    for choice in choices {
        match select_device(choice) {
            Ok(selected) => devices.push((selected.description, selected.device)),
            Err(e) if args.device == DeviceChoice::Auto => println!("{e}"),
            Err(e) => return Err(e.into()),
        }
    }
    if args.steps == 0 {
        bail!("--steps must be at least 1");
    }
    println!(
        "model {:?}: {} layers, {} heads, width {}, context {}, batch {}",
        args.config,
        config.model.n_layer,
        config.model.n_head,
        config.model.n_embd,
        config.model.block_size,
        config.training.batch_size
    );
    for (name, device) in devices {
        let autodiff = device.clone().autodiff();
        let textbook = Trainer::new(config.clone(), &autodiff);
        let appendix = fast::new_trainer(config.clone(), &autodiff);
        for (path, trainer) in [("chapter 5's code", textbook), ("the appendix's kernels", appendix)] {
            let threads = match trainer.shards() {
                1 => "one thread".to_string(),
                n => format!("batch split over {n} threads"),
            };
            let (ms, tokens_per_second) =
                training_throughput(trainer, 5, args.steps).with_context(|| format!("timing {name}"))?;
            println!("{name}: training with {path}: {ms:.1} ms/step, {tokens_per_second:.0} tokens/s ({threads})");
        }
        device.seed(0);
        let model = config.model.init(&device);
        for use_cache in [false, true] {
            sampling_throughput(&model, 8, use_cache); // warm-up
            let rate = sampling_throughput(&model, args.new_tokens, use_cache);
            let label = if use_cache { "with" } else { "without" };
            println!(
                "{name}: sampling {} new tokens {label} the KV cache: {rate:.0} tokens/s",
                args.new_tokens
            );
        }
    }
    let peak = peak_memory_bytes().context("peak memory is read from /proc/self/status (Linux only)");
    match peak {
        Ok(bytes) => println!("peak resident memory: {:.0} MB", bytes as f64 / 1e6),
        Err(e) => println!("{e}"),
    }
    Ok(())
}
