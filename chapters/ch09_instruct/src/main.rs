//! Chapter 9's commands: fine-tune a GPT to follow instructions, score it, talk to it, and measure the chapter's
//! table.
//!
//! `cargo run --release -p instruct -- finetune` fine-tunes chapter 5's GPT (pretrained with
//! `gpt train --bpe 2048 --config chapters/ch09_instruct/pretrain.json --out runs/gpt-instruct`) on Raschka's
//! instructions and scores its test split; `... -- eval --checkpoint DIR` scores a run again; `... -- chat
//! --checkpoint DIR` answers the instructions typed on the terminal; `... -- synthetic` writes the book's table.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::module::Module;
use clap::{Args, Parser, Subcommand};
use common::cli::{DeviceArgs, at_least_one, positive_number};
use common::device::fits_in_memory;
use common::figures::write_loss_curves;
use common::train::{RunDir, Start, progress_bar};
use indicatif::ProgressBar;
use instruct::backbone::{BackboneKind, load_backbone};
use instruct::checkpoint::{self, Instructed};
use instruct::data::{Example, TestSet, dataset_splits};
use instruct::evaluate::{Accuracy, responses, score_responses, synthetic_accuracy};
use instruct::experiment::{ARMS, ArmResult, HELD_OUT_FAMILY, markdown_table, per_family_table, run_arm};
use instruct::synthetic::Family;
use instruct::training::{Dataset, FinetuneConfig, Setup, trainer};
use instruct::{InstructError, respond};

/// mimalloc keeps the memory of freed tensors for the next ones (see chapter 5's `main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(about = "Chapter 9: fine-tune a GPT to follow instructions")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Fine-tune (or resume) a backbone on instructions, then score it on the test split.
    Finetune(FinetuneArgs),
    /// Score a fine-tuned model on the test split of its data set; write its responses for a judge.
    Eval(EvalArgs),
    /// Answer the instructions typed on the terminal, one a line (`instruction | input` for one with an input).
    Chat(ChatArgs),
    /// The book's table: every row of the synthetic experiment over several seeds.
    Synthetic(SyntheticArgs),
}

#[derive(Args, Debug)]
struct FinetuneArgs {
    #[command(flatten)]
    device: DeviceArgs,
    #[arg(long, value_enum, default_value = "gpt")]
    backbone: BackboneKind,
    /// gpt and scratch: a chapter 5 run's directory (default runs/gpt-instruct); gpt2: gpt2, gpt2-medium,... or a
    /// Hugging Face folder (default gpt2).
    #[arg(long)]
    from: Option<String>,
    #[arg(long, value_enum, default_value = "raschka")]
    dataset: Dataset,
    /// Raschka's instruction-data.json instead of the cached download.
    #[arg(long)]
    data: Option<PathBuf>,
    #[arg(long, value_parser = at_least_one)]
    epochs: Option<usize>,
    #[arg(long, value_parser = at_least_one)]
    batch_size: Option<usize>,
    /// The peak learning rate (default: by backbone, see the book).
    #[arg(long, value_parser = positive_number)]
    lr: Option<f64>,
    /// Learn the prompt's tokens too, not only the response's.
    #[arg(long)]
    loss_on_prompt: bool,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop after this many steps (the learning-rate schedule still spans every epoch); resume later.
    #[arg(long)]
    max_iters: Option<usize>,
    /// The run's directory: its checkpoint, loss curve and test responses (default: runs/instruct-BACKBONE).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the run saved in --out, with its own configuration and data.
    #[arg(
        long,
        conflicts_with_all = ["overwrite", "backbone", "from", "dataset", "epochs", "batch_size", "lr", "loss_on_prompt", "seed"]
    )]
    resume: bool,
    /// Start anew in an --out that holds a checkpoint, replacing it.
    #[arg(long)]
    overwrite: bool,
    /// The most tokens of a test response on Raschka's data (a synthetic answer gets 40).
    #[arg(long, default_value_t = 256, value_parser = at_least_one)]
    max_new_tokens: usize,
}

#[derive(Args, Debug)]
struct EvalArgs {
    #[command(flatten)]
    device: DeviceArgs,
    /// A directory `finetune` wrote (its --out), or its checkpoint.
    #[arg(long)]
    checkpoint: PathBuf,
    #[arg(long)]
    data: Option<PathBuf>,
    #[arg(long, default_value_t = 256, value_parser = at_least_one)]
    max_new_tokens: usize,
    /// Where the responses go (default: test-responses.json beside the checkpoint).
    #[arg(long)]
    responses: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct ChatArgs {
    #[command(flatten)]
    device: DeviceArgs,
    #[arg(long)]
    checkpoint: PathBuf,
    #[arg(long, default_value_t = 256, value_parser = at_least_one)]
    max_new_tokens: usize,
}

#[derive(Args, Debug)]
struct SyntheticArgs {
    #[command(flatten)]
    device: DeviceArgs,
    /// The chapter 5 pretraining run (see `finetune --from`).
    #[arg(long, default_value = "runs/gpt-instruct")]
    from: PathBuf,
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    seeds: Vec<u64>,
    /// Where results.md, results.json and each finished row go; run again there, it goes on where it stopped.
    #[arg(long, default_value = "runs/instruct-synthetic")]
    out: PathBuf,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Finetune(args) => finetune(args),
        Command::Eval(args) => eval(args),
        Command::Chat(args) => chat(args),
        Command::Synthetic(args) => synthetic(args),
    }
}

fn finetune(args: FinetuneArgs) -> anyhow::Result<()> {
    let device = args.device.announce()?.device.autodiff();
    let out = (args.out.clone()).unwrap_or_else(|| PathBuf::from(format!("runs/instruct-{}", args.backbone.name())));
    let run = RunDir::open(&out, Start::from_flags(args.resume, args.overwrite)).map_err(InstructError::from)?;
    let Setup { mut trainer, dropped } = if args.resume {
        let saved = checkpoint::saved_state(&run.checkpoint())?;
        let (given, data_file) = (args.data.as_deref(), saved.config.data.as_deref());
        if let Some(given) = given.filter(|&given| Some(given) != data_file) {
            let saved = data_file.map_or("the cached download".into(), |d| d.display().to_string());
            let given = given.display().to_string();
            return Err(InstructError::OtherData { given, saved }.into());
        }
        let data = dataset_splits(saved.config.dataset, data_file, saved.config.seed)?;
        let setup = checkpoint::resume(&run.checkpoint(), &data.train, &data.val, &device)?;
        println!("resuming {} at step {}", run.checkpoint().display(), setup.trainer.step);
        setup
    } else {
        let mut config = FinetuneConfig::new(args.backbone, args.dataset);
        config.epochs = args.epochs.unwrap_or(config.epochs);
        config.batch_size = args.batch_size.unwrap_or(config.batch_size);
        config.learning_rate = args.lr.unwrap_or(config.learning_rate);
        config.mask_prompt = !args.loss_on_prompt;
        config.seed = args.seed;
        config.data = args.data.clone();
        let data = dataset_splits(config.dataset, args.data.as_deref(), config.seed)?;
        let from = (args.from.clone()).unwrap_or_else(|| args.backbone.default_from().to_string());
        device.seed(config.seed);
        let backbone = load_backbone(args.backbone, &from, &device).map_err(with_command)?;
        trainer(&config, backbone, &from, &data.train, &data.val, &device)?
    };
    // The longest window a batch can hold, not the context: GPT-2's 1,024 would overstate it many times.
    let longest = (trainer.task.train.iter())
        .map(|e| e.prompt.len() + e.response.len())
        .max()
        .unwrap_or(1);
    let config = &trainer.task.state.config;
    fits_in_memory(
        config.training_memory_bytes(&trainer.task.state.model, longest),
        "--batch-size",
    )?;
    let (task, model) = (&trainer.task, &trainer.task.state.model);
    println!(
        "backbone: {} from {} ({} layers, width {}), {:.2}M parameters, context {}",
        task.state.config.backbone.name(),
        task.state.from,
        model.n_layer,
        model.n_embd,
        model.num_params() as f64 / 1e6,
        model.block_size
    );
    println!(
        "data: {} training and {} validation examples ({} and {} longer than the context left out); loss on {}",
        task.train.len(),
        task.val.len(),
        dropped[0],
        dropped[1],
        if task.state.config.mask_prompt {
            "the response only"
        } else {
            "prompt and response"
        }
    );
    let max_steps = trainer.plan.max_steps;
    let until = args.max_iters.unwrap_or(max_steps).min(max_steps);
    if trainer.step >= max_steps {
        anyhow::bail!(
            "the run in {} is finished (step {max_steps} of {max_steps}): score it with `instruct eval --checkpoint \
             {}`, or start another with --overwrite",
            out.display(),
            out.display()
        );
    }
    if until <= trainer.step {
        anyhow::bail!(
            "the run is at step {} already: pass a --max-iters above it, up to {max_steps}",
            trainer.step
        );
    }
    let progress = progress_bar(until, trainer.step);
    trainer.train(until, Some(&run.checkpoint()), Some(&progress))?;
    progress.finish();
    trainer.final_score(Some(&run.checkpoint()))?;
    let curve = write_loss_curves(run.root(), &trainer.history)?;
    println!("loss curve: {}", curve.display());
    if trainer.step < max_steps {
        let last = trainer.evaluations.last().expect("scored where it stopped");
        println!(
            "stopped at step {} of {max_steps} ({last}): continue with --resume",
            trainer.step
        );
        return Ok(());
    }
    // The run keeps its last model, the one in memory: scored as it is, not read back from the checkpoint.
    let instructed = Instructed {
        model: trainer.model.valid(),
        tokenizer: trainer.task.tokenizer.clone(),
        state: trainer.task.state.clone(),
        evaluations: trainer.evaluations.clone(),
        dir: run.checkpoint(),
    };
    let data = instructed.state.config.data.clone();
    score(&instructed, data.as_deref(), args.max_new_tokens, None)
}

/// `error`, and for a missing or unsuitable backbone, the command that pretrains one.
fn with_command(error: InstructError) -> anyhow::Error {
    match error {
        InstructError::WrongBackbone { .. } => anyhow::anyhow!(
            "{error}; pretrain one with `cargo run --release -p gpt -- train --bpe 2048 --config \
             chapters/ch09_instruct/pretrain.json --out runs/gpt-instruct` (about 10 minutes on two cores)"
        ),
        error => error.into(),
    }
}

fn eval(args: EvalArgs) -> anyhow::Result<()> {
    let device = args.device.announce()?.device;
    let instructed = checkpoint::load(&args.checkpoint, &device)?;
    // The run's own data unless --data names other examples to score it on.
    let data = args.data.or_else(|| instructed.state.config.data.clone());
    score(&instructed, data.as_deref(), args.max_new_tokens, args.responses)
}

/// Scores `instructed` on its data set's test split: exact match per family for the synthetic set; ROUGE-L and
/// exact match for Raschka's, whose responses are written to `responses` (default: beside the checkpoint).
fn score(
    instructed: &Instructed,
    data: Option<&Path>,
    max_new_tokens: usize,
    responses_file: Option<PathBuf>,
) -> anyhow::Result<()> {
    let config = &instructed.state.config;
    let (model, tokenizer) = (&instructed.model, &instructed.tokenizer);
    match dataset_splits(config.dataset, data, config.seed)?.test {
        TestSet::Synthetic(set) => {
            println!(
                "exact match on examples never trained on (the held-out family: {}):",
                HELD_OUT_FAMILY.name()
            );
            println!(
                "{:<22} {:>10} {:>14} {:>11}",
                "family", "new items", "new phrasings", "new family"
            );
            let parts = [&set.new_items, &set.new_phrasings, &set.new_family];
            let scores = parts
                .map(|examples| synthetic_accuracy(model, tokenizer, examples))
                .into_iter()
                .collect::<Result<Vec<_>, _>>()?;
            let cell = |i: usize, family: Family| {
                scores[i]
                    .get(&family)
                    .map_or("-".to_string(), |a: &Accuracy| format!("{}/{}", a.correct, a.total))
            };
            for family in Family::ALL {
                println!(
                    "{:<22} {:>10} {:>14} {:>11}",
                    family.name(),
                    cell(0, family),
                    cell(1, family),
                    cell(2, family)
                );
            }
        }
        TestSet::Raschka(test) => {
            if test.is_empty() {
                return Err(InstructError::EmptySplit { split: "test" }.into());
            }
            let progress = ProgressBar::new(test.len() as u64);
            let (records, too_long) = responses(model, tokenizer, &test, max_new_tokens, |done| {
                progress.set_position(done as u64)
            })?;
            progress.finish_and_clear();
            if too_long > 0 {
                println!("{too_long} test prompts leave no room for an answer in the context and are left out");
            }
            // Beside the checkpoint, in the run's directory.
            let run = instructed.dir.parent().unwrap_or(&instructed.dir);
            let path = responses_file.unwrap_or_else(|| run.join("test-responses.json"));
            std::fs::write(&path, serde_json::to_string_pretty(&records)?)
                .with_context(|| format!("writing the responses to {}", path.display()))?;
            let scores = score_responses(&records);
            println!(
                "test split ({} examples): ROUGE-L F1 {:.3}, exact match {:.1}%",
                scores.examples,
                scores.rouge_l_f1,
                100.0 * scores.exact_match
            );
            println!(
                "responses (for an LLM judge, in the format of Raschka's chapter 7): {}",
                path.display()
            );
        }
    }
    Ok(())
}

fn chat(args: ChatArgs) -> anyhow::Result<()> {
    let device = args.device.announce()?.device;
    let instructed = checkpoint::load(&args.checkpoint, &device)?;
    eprintln!("Type an instruction (`instruction | input` to give an input); an empty line or Ctrl-D ends.");
    let stdin = std::io::stdin();
    loop {
        eprint!("> ");
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 || line.trim().is_empty() {
            return Ok(());
        }
        let (instruction, input) = line.trim().split_once(" | ").unwrap_or((line.trim(), ""));
        let example = Example {
            instruction: instruction.trim().to_string(),
            input: input.trim().to_string(),
            output: String::new(),
        };
        let mut stdout = std::io::stdout();
        let show = |piece: &str| {
            print!("{piece}");
            let _ = stdout.flush();
        };
        // A line the model cannot answer (empty, too long, a character a character tokenizer lacks) is reported,
        // and the conversation goes on.
        if let Err(error) = respond(
            &instructed.model,
            &instructed.tokenizer,
            &example,
            args.max_new_tokens,
            show,
        ) {
            eprint!("{error}");
        }
        println!();
    }
}

fn synthetic(args: SyntheticArgs) -> anyhow::Result<()> {
    let device = args.device.announce()?.device.autodiff();
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let mut results = Vec::new();
    for &seed in &args.seeds {
        for arm in ARMS {
            let path = args.out.join(format!(
                "{}-{}-seed{seed}.json",
                arm.backbone.name(),
                arm.mask_prompt
                    .map_or("untuned", |mask| if mask { "response" } else { "whole" })
            ));
            let result: ArmResult = match std::fs::read_to_string(&path) {
                Ok(text) => serde_json::from_str(&text)
                    .with_context(|| format!("{} is damaged: delete it to run that row again", path.display()))?,
                Err(_) => {
                    let result = run_arm(arm, seed, &args.from, &device).map_err(with_command)?;
                    std::fs::write(&path, serde_json::to_string_pretty(&result)?)?;
                    result
                }
            };
            println!("seed {seed}, {}: {:.0} s", arm.describe(), result.seconds);
            results.push(result);
        }
    }
    let table = markdown_table(&results);
    let best = ARMS[2];
    let per_family = per_family_table(&results, best);
    std::fs::write(args.out.join("results.json"), serde_json::to_string_pretty(&results)?)?;
    let markdown = format!("{table}\nPer family ({}):\n\n{per_family}", best.describe());
    std::fs::write(args.out.join("results.md"), &markdown)?;
    println!("\n{markdown}");
    let figure = instruct::plots::write_accuracy(&args.out, &results).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("figure: {}", figure.display());
    Ok(())
}
