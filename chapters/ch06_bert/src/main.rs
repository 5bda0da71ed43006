//! Chapter 6's commands: pretrain a BERT on Tiny Shakespeare, fill in masked tokens, embed sentences.
//!
//! `cargo run --release -p bert -- pretrain [--config tiny|small]` pretrains and reports the masked accuracy
//! against the baselines; `... -- fill "ROMEO: I [MASK] thee"` prints the top-5 tokens for each mask;
//! `... -- embed "sentence one" "sentence two" ...` prints the cosine similarities of all-MiniLM-L6-v2's sentence
//! embeddings. `--help` on each lists the options.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{anyhow, bail};
use bert::data::split_sequences;
use bert::inference::{Guess, cosine_similarities, embed, encode_batch, fill_masks};
use bert::pretrained::{load_bert, load_masked_lm, load_tokenizer};
use bert::training::{self, MaskedLanguageModeling, baselines, load_checkpoint, resume, trainer};
use bert::{BertError, BertVocab, RunConfig};
use burn::module::Module;
use clap::{Args, Parser, Subcommand};
use common::cli::{DeviceArgs, RunArgs, at_least_one};
use common::device::fits_in_memory;
use common::figures::write_loss_curves;
use common::hub::ALL_MINILM_L6_V2;
use common::train::progress_bar;

/// mimalloc keeps the memory of freed tensors for the next ones (see chapter 5's `main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(about = "Chapter 6: pretrain a BERT by masked-LM, fill in blanks, embed sentences")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Pretrain (or resume) a BERT on Tiny Shakespeare by masked-LM; report masked accuracy against baselines.
    #[command(
        after_help = "Presets for --config: small (the book's run, the default), tiny (a minute).\nThe \
                            run's directory, --out: runs/bert by default; its checkpoint holds the vocabulary too."
    )]
    Pretrain(PretrainArgs),
    /// Print the most likely tokens for each [MASK] of a text.
    Fill(FillArgs),
    /// Print the cosine similarities of sentence embeddings (all-MiniLM-L6-v2 by default).
    Embed(EmbedArgs),
    /// Time pretraining steps alone (no evaluation): milliseconds per step and tokens per second.
    Bench(BenchArgs),
}

#[derive(Args, Debug)]
struct BenchArgs {
    #[command(flatten)]
    device: DeviceArgs,
    /// A preset or a JSON file of a `RunConfig`.
    #[arg(long, default_value = "small")]
    config: String,
    /// Timed steps, after 5 untimed ones.
    #[arg(long, default_value_t = 50, value_parser = at_least_one)]
    steps: usize,
    #[arg(long)]
    data: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct PretrainArgs {
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args, Debug)]
struct FillArgs {
    #[command(flatten)]
    device: DeviceArgs,
    /// Texts with one or more [MASK].
    #[arg(required = true)]
    texts: Vec<String>,
    /// A run of `pretrain` (its --out).
    #[arg(long, default_value = "runs/bert", conflicts_with = "model")]
    checkpoint: PathBuf,
    /// A Hugging Face BertForMaskedLM folder (config.json, model.safetensors, tokenizer.json) instead.
    #[arg(long)]
    model: Option<PathBuf>,
    /// How many of the likeliest tokens to print for each [MASK].
    #[arg(long, default_value_t = 5, value_parser = at_least_one)]
    top_k: usize,
}

#[derive(Args, Debug)]
struct EmbedArgs {
    #[command(flatten)]
    device: DeviceArgs,
    /// Two or more sentences.
    #[arg(required = true, num_args = 2..)]
    sentences: Vec<String>,
    /// A Hugging Face BERT folder; by default all-MiniLM-L6-v2, downloaded into the data cache on first use.
    #[arg(long)]
    model: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Pretrain(args) => pretrain(args),
        Command::Fill(args) => fill(args),
        Command::Embed(args) => embed_command(args),
        Command::Bench(args) => bench(args),
    }
}

/// [`training::learn_vocab`], timed.
fn learn_vocab(text: &str, config: &RunConfig) -> Result<BertVocab, BertError> {
    let started = Instant::now();
    let vocab = training::learn_vocab(text, config)?;
    println!(
        "vocabulary: {} BPE tokens learned in {:.1} s, plus [PAD] [UNK] [CLS] [SEP] [MASK]",
        vocab.bpe.vocab_size(),
        started.elapsed().as_secs_f64()
    );
    Ok(vocab)
}

fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let selected = args.device.announce()?;
    let device = selected.device.autodiff();
    let config = RunConfig::named_or_read(&args.config)?;
    let text = tokens::data::load_tiny_shakespeare(args.data.as_deref())?;
    let vocab = learn_vocab(&text, &config)?;
    let splits = split_sequences(&text, &vocab, config.model.max_position_embeddings);
    let mut trainer = trainer(
        MaskedLanguageModeling::new(config, vocab, splits.train, &splits.val)?,
        &device,
    );
    let timed = trainer.time_steps(5, args.steps)?;
    let seconds = timed.seconds;
    println!(
        "{} steps: {:.1} ms/step, {:.0} tokens/s (padding included)",
        args.steps,
        1000.0 * seconds / args.steps as f64,
        timed.items as f64 / seconds
    );
    Ok(())
}

fn pretrain(args: PretrainArgs) -> anyhow::Result<()> {
    let args = args.run;
    let device = args.device.announce()?.device.autodiff();
    let run = args.run_dir("bert").map_err(BertError::from)?;
    let text = tokens::data::load_tiny_shakespeare(args.data.as_deref())?;
    let split = |vocab: &BertVocab, config: &RunConfig| {
        let splits = split_sequences(&text, vocab, config.model.max_position_embeddings);
        (splits.train, splits.val)
    };
    let mut trainer = if args.resume {
        let trainer = resume(&run.checkpoint(), &device, split)?;
        println!("resuming {} at step {}", run.checkpoint().display(), trainer.step);
        trainer
    } else {
        let mut config = RunConfig::named_or_read(args.config_or("small"))?;
        if let Some(seed) = args.seed {
            config.training.seed = seed;
        }
        fits_in_memory(
            config.training_memory_bytes(),
            "training.batch_size or model.max_position_embeddings (attention's memory grows with its square)",
        )?;
        let vocab = learn_vocab(&text, &config)?;
        let (train, val) = split(&vocab, &config);
        trainer(MaskedLanguageModeling::new(config, vocab, train, &val)?, &device)
    };
    let (config, vocab) = (trainer.task.config.clone(), trainer.task.vocab.clone());
    let until = args.until(config.training.max_iters, trainer.step)?;
    let task = &trainer.task;
    let base = baselines(&task.train, &task.val, &vocab.special(), vocab.vocab_size());
    let val_sequences = task.val.len();
    let m = &config.model;
    println!(
        "data: {} training and {} validation sequences of up to {} tokens",
        trainer.task.train.len(),
        val_sequences,
        m.max_position_embeddings
    );
    let needed = config.training_memory_bytes();
    println!(
        "model: {} parameters ({} layers, {} heads, width {}), masked-LM head tied to the token embedding; a \
         training step holds about {:.1} GB",
        m.num_encoder_params() + m.num_mlm_head_params(),
        m.num_hidden_layers,
        m.num_attention_heads,
        m.hidden_size,
        needed as f64 / 1e9
    );
    let progress = progress_bar(until, trainer.step);
    let throughput = trainer.train(until, Some(&run.checkpoint()), Some(&progress))?;
    progress.finish();
    // A run stopped between two evaluations (--max-iters) is evaluated, and saved, where it stopped.
    let last = trainer.final_score(Some(&run.checkpoint()))?;
    println!(
        "trained {} steps in {:.1} s ({:.0} tokens/s, padding included); checkpoint {}",
        throughput.steps,
        throughput.seconds,
        throughput.items as f64 / throughput.seconds,
        run.checkpoint().display()
    );
    println!("validation, {} masked positions (step {}):", last.scored, last.step);
    println!(
        "  BERT:                      loss {:.4}, accuracy {:.2}%",
        last.loss,
        100.0 * last.accuracy
    );
    println!("  unigram distribution:      loss {:.4}", base.unigram_loss);
    println!(
        "  most frequent token:       accuracy {:.2}%",
        100.0 * base.most_frequent_accuracy
    );
    let png = write_loss_curves(run.root(), &trainer.history)?;
    println!("loss curve: {} (and .svg)", png.display());
    let model = trainer.model.valid();
    let example = "ROMEO:\nI [MASK] thee.";
    println!("\n--- fill: {example:?} ---");
    print_guesses(
        &fill_masks(
            &model,
            &vocab.encode_with_masks(example),
            vocab.special().mask,
            5,
            &device.inner(),
        )?,
        |id| vocab.token_text(id),
    );
    Ok(())
}

fn fill(args: FillArgs) -> anyhow::Result<()> {
    let selected = args.device.select()?;
    let device = selected.device;
    if let Some(folder) = &args.model {
        let (config, model) = load_masked_lm(folder, &device)?;
        let tokenizer = load_tokenizer(folder, &config)?;
        let mask = tokenizer
            .token_to_id("[MASK]")
            .ok_or_else(|| anyhow!("{}: the tokenizer has no [MASK] token", folder.display()))?;
        for text in &args.texts {
            let ids = tokenizer
                .encode(text.as_str(), true)
                .map_err(|e| anyhow!("cannot tokenize {text:?}: {e}"))?
                .get_ids()
                .to_vec();
            println!("{text}");
            let token = |id: u32| tokenizer.id_to_token(id).unwrap_or_else(|| format!("<{id}>"));
            print_guesses(&fill_masks(&model, &ids, mask, args.top_k, &device)?, token);
        }
    } else {
        let (_, model, vocab) = load_checkpoint(&args.checkpoint, &device)?;
        for text in &args.texts {
            println!("{text}");
            let ids = vocab.encode_with_masks(text);
            print_guesses(
                &fill_masks(&model, &ids, vocab.special().mask, args.top_k, &device)?,
                |id| vocab.token_text(id),
            );
        }
    }
    Ok(())
}

fn print_guesses(masks: &[Vec<Guess>], token: impl Fn(u32) -> String) {
    for (i, guesses) in masks.iter().enumerate() {
        let list: Vec<String> = guesses
            .iter()
            .map(|g| format!("{:?} {:.1}%", token(g.token), 100.0 * g.probability))
            .collect();
        println!("  [MASK] {}: {}", i + 1, list.join(", "));
    }
}

fn embed_command(args: EmbedArgs) -> anyhow::Result<()> {
    let selected = args.device.select()?;
    let device = selected.device;
    let folder = ALL_MINILM_L6_V2.locate(args.model.as_deref())?;
    let (config, model) = load_bert(&folder, &device)?;
    let tokenizer = load_tokenizer(&folder, &config)?;
    let sentences: Vec<&str> = args.sentences.iter().map(String::as_str).collect();
    if let Some(empty) = sentences.iter().position(|s| s.trim().is_empty()) {
        bail!("sentence {} is empty: give text to embed", empty + 1);
    }
    let (tokens, padding) = encode_batch(
        &tokenizer,
        &sentences,
        config.pad_token_id,
        config.max_position_embeddings,
        &device,
    )?;
    let similarities = cosine_similarities(embed(&model, tokens, padding))
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| anyhow!("cannot read the similarities: {e:?}"))?;
    let n = sentences.len();
    println!(
        "cosine similarities of {} (mean-pooled sentence embeddings):",
        folder.display()
    );
    for (i, sentence) in sentences.iter().enumerate() {
        let row: Vec<String> = similarities[i * n..(i + 1) * n]
            .iter()
            .map(|c| format!("{c:6.3}"))
            .collect();
        println!("  {} | {sentence}", row.join(" "));
    }
    Ok(())
}
