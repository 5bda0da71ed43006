//! Chapter 5's command line: `train` (or resume) a GPT on Tiny Shakespeare and print a sample, `sample` from a saved
//! run, `bench` the training and sampling throughput. The `gpt` binary runs chapter 5's code as the chapter shows
//! it ([`main`]); the appendix's binary runs the same commands with its kernels plugged into the training loop
//! ([`main_with`]).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, anyhow, bail};
use burn::module::Module;
use burn::prelude::*;
use clap::{Args, Parser, Subcommand};
use common::cli::{DeviceArgs, RunArgs, at_least_one};
use common::device::{fits_in_memory, peak_memory_bytes};
use common::figures::write_loss_curves;
use common::train::{CheckpointError, RunDir, engine, progress_bar};
use common::{DeviceChoice, select_device};

use crate::bench::{sampling_throughput, synthetic_tokenizer, synthetic_tokens};
use crate::training::{WindowLosses, load_checkpoint, open_run, trainer, whole_split_loss};
use crate::{Gpt, GptError, RunConfig, SamplingConfig, TokenSplits, Tokenizer, TokenizerKind, Trainer, generate};

/// A speed plug-in for the training loop: chapter 5's run turned into one that computes the same steps another way.
pub struct PlugIn<T: WindowLosses> {
    /// What it computes with, for the messages ("the appendix's kernels").
    pub name: &'static str,
    /// The run turned into the plugged one, and a line saying how it computes.
    pub apply: fn(Trainer) -> (engine::Trainer<T>, String),
}

/// Chapter 5's command line, on chapter 5's code.
pub fn main() -> anyhow::Result<()> {
    run::<crate::training::LanguageModeling>(Cli::parse(), None)
}

/// Chapter 5's command line, training with `plug_in` (and `bench` timing both).
pub fn main_with<T: WindowLosses>(plug_in: PlugIn<T>) -> anyhow::Result<()> {
    run(Cli::parse(), Some(plug_in))
}

fn run<T: WindowLosses>(cli: Cli, plug_in: Option<PlugIn<T>>) -> anyhow::Result<()> {
    match cli.command {
        Command::Train(args) => train(args, plug_in),
        Command::Sample(args) => sample(args),
        Command::Bench(args) => bench(args, plug_in),
    }
}

#[derive(Parser, Debug)]
#[command(about = "Chapter 5: pretrain a GPT on Tiny Shakespeare and sample from it")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train (or resume) a GPT, save it with its loss curve, then print a sample.
    #[command(
        after_help = "Presets for --config: baby (nanoGPT's CPU run, the default), small (its GPU run), \
                            tiny (seconds).\nThe run's directory, --out: runs/gpt by default; its checkpoint \
                            holds the tokenizer too."
    )]
    Train(TrainArgs),
    /// Continue a prompt with a trained GPT.
    Sample(SampleArgs),
    /// Training and sampling throughput on each backend, and peak memory.
    Bench(BenchArgs),
}

#[derive(Args, Debug)]
struct TrainArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Byte-level BPE with this many tokens instead of characters.
    #[arg(long, conflicts_with = "resume")]
    bpe: Option<usize>,
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
    #[arg(long, default_value_t = 50, value_parser = at_least_one)]
    steps: usize,
    /// New tokens per sampling measurement.
    #[arg(long, default_value_t = 500, value_parser = at_least_one)]
    new_tokens: usize,
    /// Backends to measure: cpu, wgpu or auto (every one available: flex, and wgpu when it finds an adapter).
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
}

fn train<T: WindowLosses>(args: TrainArgs, plug_in: Option<PlugIn<T>>) -> anyhow::Result<()> {
    let run_args = &args.run;
    let device = run_args.device.announce()?.device.autodiff();
    let run = run_args.run_dir("gpt").map_err(GptError::from)?;
    let text = tokens::data::load_tiny_shakespeare(run_args.data.as_deref())?;
    let started = Instant::now();
    let trainer = if run_args.resume {
        let saved = open_run(&run.checkpoint())?;
        let data = TokenSplits::encode(&text, &saved.tokenizer).map_err(|e| {
            anyhow!("the training text does not fit the checkpoint's tokenizer ({e}); resume with the same --data")
        })?;
        let trainer = saved.resume(data, &device)?;
        println!("resuming {} at step {}", run.checkpoint().display(), trainer.step);
        trainer
    } else {
        let kind = args.bpe.map_or(TokenizerKind::Char, TokenizerKind::Bpe);
        let (tokenizer, data) = TokenSplits::build(&text, kind)?;
        let mut config = RunConfig::named(run_args.config_or("baby"), tokenizer.vocab_size())?;
        config.tokenizer = kind;
        if let Some(seed) = run_args.seed {
            config.training.seed = seed;
        }
        fits_in_memory(
            config.training_memory_bytes(),
            "training.batch_size or model.block_size (attention's memory grows with its square)",
        )?;
        trainer(config, data, tokenizer, &device)?
    };
    let until = run_args.until(trainer.plan.max_steps, trainer.step)?;
    let (config, data, tokenizer) = (&trainer.task.config, &trainer.task.data, &trainer.task.tokenizer);
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
    let out = Out {
        run,
        started,
        until,
        sample_tokens: args.sample_tokens,
    };
    match plug_in {
        Some(plug_in) => {
            let (trainer, how) = (plug_in.apply)(trainer);
            println!("training with {}: {how}", plug_in.name);
            train_and_report(trainer, out)
        }
        None => train_and_report(trainer, out),
    }
}

/// Where a run goes and how far.
struct Out {
    run: RunDir,
    started: Instant,
    until: usize,
    sample_tokens: usize,
}

fn train_and_report<T: WindowLosses>(mut trainer: engine::Trainer<T>, out: Out) -> anyhow::Result<()> {
    let checkpoint = out.run.checkpoint();
    let progress = progress_bar(out.until, trainer.step);
    trainer.train(out.until, Some(&checkpoint), Some(&progress))?;
    progress.finish();
    // A run stopped between two estimates (--max-iters) is estimated where it stopped, so the figure is the model's.
    let last = trainer.final_score(Some(&checkpoint))?;
    let seconds = out.started.elapsed().as_secs_f64();
    println!(
        "trained to step {} in {seconds:.1} s; checkpoint {}",
        trainer.step,
        checkpoint.display()
    );
    println!("final estimate (step {}): {last}", last.step);
    let val = &trainer.task.language_modeling().data.val;
    let val_loss = whole_split_loss(&trainer, val)?;
    println!(
        "whole validation split ({} tokens, no sampling noise): loss {val_loss:.4}, perplexity {:.2}",
        val.len(),
        val_loss.exp()
    );
    let png = write_loss_curves(out.run.root(), &trainer.history)?;
    println!("loss curve: {} (and .svg)", png.display());
    if let Some(peak) = peak_memory_bytes() {
        println!("peak memory: {:.0} MB", peak as f64 / 1e6);
    }
    if out.sample_tokens > 0 {
        let model = trainer.model.valid();
        let sampling = SamplingConfig::new().with_temperature(0.8).with_top_k(Some(200));
        println!(
            "\n--- sample ({} tokens, temperature 0.8, top-k 200) ---",
            out.sample_tokens
        );
        let tokenizer = &trainer.task.language_modeling().tokenizer;
        print_sample(&model, tokenizer, "\n", out.sample_tokens, &sampling, None)?;
    }
    Ok(())
}

fn sample(args: SampleArgs) -> anyhow::Result<()> {
    let selected = args.device.announce()?;
    let (model, _, tokenizer) = load_checkpoint(&args.checkpoint, &selected.device).map_err(|e| match e {
        GptError::Checkpoint(CheckpointError::Missing(dir)) => {
            anyhow!(
                "no checkpoint in {}: train one first with `gpt train --out {}`",
                dir.display(),
                dir.display()
            )
        }
        other => other.into(),
    })?;
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

fn bench<T: WindowLosses>(args: BenchArgs, plug_in: Option<PlugIn<T>>) -> anyhow::Result<()> {
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
        let fresh = || {
            let data = synthetic_tokens(config.model.vocab_size, 100_000, 0);
            trainer(
                config.clone(),
                data,
                synthetic_tokenizer(config.model.vocab_size),
                &autodiff,
            )
        };
        let mut timings = vec![("chapter 5's code".to_string(), fresh()?.time_steps(5, args.steps))];
        if let Some(plug_in) = &plug_in {
            let (mut trainer, how) = (plug_in.apply)(fresh()?);
            timings.push((format!("{} ({how})", plug_in.name), trainer.time_steps(5, args.steps)));
        }
        for (path, timed) in timings {
            let timed = timed.with_context(|| format!("timing {name}"))?;
            let ms = 1000.0 * timed.seconds / timed.steps as f64;
            let tokens_per_second = timed.items as f64 / timed.seconds;
            println!("{name}: training with {path}: {ms:.1} ms/step, {tokens_per_second:.0} tokens/s");
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
