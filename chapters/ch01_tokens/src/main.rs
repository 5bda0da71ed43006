//! Chapter 1's demo: tokenize Tiny Shakespeare two ways, train a byte-level BPE, and embed a few tokens.
//!
//! `cargo run --release -p tokens -- --help` lists the options.

use std::path::PathBuf;

use anyhow::Context;
use burn::prelude::*;
use clap::Parser;
use common::cli::DeviceArgs;
use common::select_device;
use indicatif::{ProgressBar, ProgressStyle};
use tokens::bpe::{BYTE_TOKENS, pretokenize};
use tokens::data::{load_tiny_shakespeare, split_train_val};
use tokens::{BpeTokenizer, CharTokenizer, InputEmbeddingConfig, sinusoidal_positional_encoding};

#[derive(Parser, Debug)]
#[command(about = "Chapter 1: tokenize Tiny Shakespeare, train a byte-level BPE, embed tokens")]
struct Args {
    /// A text file to use instead of Tiny Shakespeare (default: the cached download, fetched on first use).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Size of the BPE vocabulary to learn (256 byte tokens + merges).
    #[arg(long, default_value_t = 512)]
    vocab_size: usize,
    #[command(flatten)]
    device: DeviceArgs,
    /// Save the trained BPE merges to this JSON file.
    #[arg(long)]
    save_bpe: Option<PathBuf>,
    /// Write a heatmap of the positional encoding to this SVG file.
    #[arg(long)]
    figure: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let text = load_tiny_shakespeare(args.data.as_deref())?;
    println!(
        "corpus: {} characters, {} bytes, {} lines",
        text.chars().count(),
        text.len(),
        text.lines().count()
    );

    // Characters.
    let chars = CharTokenizer::from_corpus(&text)?;
    let ids = chars.encode(&text)?;
    let (train, val) = split_train_val(&ids, 0.9);
    println!("\n== character tokenizer ==");
    println!(
        "vocabulary: {} characters: {:?}",
        chars.vocab_size(),
        chars.vocab().iter().collect::<String>()
    );
    println!("train/val split (90/10): {} / {} tokens", train.len(), val.len());
    let sample = &text[..text.char_indices().nth(40).map_or(text.len(), |(i, _)| i)];
    println!("encode({sample:?}) = {:?}", chars.encode(sample)?);

    // Byte-level BPE, trained on the training split and measured on the validation split.
    let (train_text, val_text) = (chars.decode(train)?, chars.decode(val)?);
    let n_merges = args.vocab_size.saturating_sub(BYTE_TOKENS);
    println!("\n== byte-level BPE, {n_merges} merges learned from the training split ==");
    let progress = ProgressBar::new(n_merges as u64).with_style(
        ProgressStyle::with_template("learning merges {bar:40} {pos}/{len} [{elapsed_precise} < {eta}]")
            .expect("a valid template"),
    );
    let bpe = BpeTokenizer::train_with_progress(&train_text, args.vocab_size, |n| progress.set_position(n as u64))?;
    progress.finish_and_clear();
    println!("pre-tokens in the training split: {}", pretokenize(&train_text).len());
    for (name, split) in [("train", &train_text), ("validation", &val_text)] {
        let n_tokens = bpe.encode(split).len();
        println!(
            "{name}: {} bytes -> {n_tokens} tokens, {:.2} bytes per token",
            split.len(),
            split.len() as f64 / n_tokens as f64
        );
    }
    let show = |id: u32| format!("{:?}", String::from_utf8_lossy(bpe.token_bytes(id).unwrap_or_default()));
    let first: Vec<String> = (0..20)
        .filter_map(|r| bpe.merges().get(r))
        .map(|&(a, b)| format!("{}+{}", show(a), show(b)))
        .collect();
    println!("first merges: {}", first.join(", "));
    let mut longest: Vec<u32> = (BYTE_TOKENS as u32..bpe.vocab_size() as u32).collect();
    longest.sort_by_key(|&id| std::cmp::Reverse(bpe.token_bytes(id).map_or(0, <[u8]>::len)));
    println!(
        "longest tokens: {}",
        longest
            .iter()
            .take(10)
            .map(|&id| show(id))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("encode({sample:?}) = {:?}", bpe.encode(sample));
    if let Some(path) = &args.save_bpe {
        bpe.save(path)?;
        println!("saved merges to {}", path.display());
    }

    // Embeddings.
    let selected = select_device(args.device.device)?;
    println!("\n== embeddings on {} ==", selected.description);
    let device = selected.device;
    let (d_model, context) = (16, 64);
    let embed = InputEmbeddingConfig::new(chars.vocab_size(), d_model, context).init(&device);
    // The corpus's first characters: any text given with --data has them in its vocabulary.
    let prompt = &sample[..sample.char_indices().nth(6).map_or(sample.len(), |(i, _)| i)];
    let prompt_ids: Vec<i64> = chars.encode(prompt)?.into_iter().map(i64::from).collect();
    let x = embed.forward(Tensor::<1, Int>::from_ints(prompt_ids.as_slice(), &device).reshape([1, prompt_ids.len()]));
    println!(
        "{prompt:?} -> token ids {prompt_ids:?} -> vectors of shape {:?}",
        x.dims()
    );
    let pe = sinusoidal_positional_encoding(2, d_model, &device)
        .to_data()
        .try_to_vec::<f32>()
        .context("reading PE")?;
    println!("sinusoidal PE(pos=1)[0..4] = {:?}", &pe[d_model..d_model + 4]);
    if let Some(path) = &args.figure {
        tokens::plots::write_positional_encoding_svg(path)
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
