//! The `baby` preset trained from initial weights PyTorch drew, on the windows our `Trainer` draws for the seed:
//! the Rust half of `fixtures/shared_draws.py`, which trains PyTorch from the same weights on the same windows.
//!
//! `cargo run --release -p cpu_speed --example from_pytorch_weights -- WEIGHTS.json SEED OUT.json` writes every step's
//! batch loss, the loss estimates and the final loss over the whole validation split to OUT.json, in the layout of
//! the script's `pytorch-SEED.json`.

use std::collections::HashMap;
use std::path::PathBuf;

use burn::prelude::*;
use clap::Parser;
use cpu_speed::gpt::fast;
use gpt::training::whole_split_loss;
use gpt::{RunConfig, TokenSplits, TokenizerKind, trainer};

#[derive(Parser)]
struct Args {
    /// Initial weights by parameter path, as `shared_draws.py` writes them.
    weights: PathBuf,
    /// The seed the script was given: our windows are drawn from it.
    seed: u64,
    /// Where to write the losses.
    out: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let text = tokens::data::load_tiny_shakespeare(None)?;
    let (tokenizer, data) = TokenSplits::build(&text, TokenizerKind::Char)?;
    let mut config = RunConfig::baby(tokenizer.vocab_size());
    config.training.seed = args.seed;
    let weights: HashMap<String, Vec<f32>> = serde_json::from_str(&std::fs::read_to_string(&args.weights)?)?;

    let device = Device::flex().autodiff();
    let mut trainer = fast(trainer(config.clone(), data.clone(), tokenizer, &device)?);
    trainer.model = trainer.model.with_named_weights(&weights)?;
    trainer.train(config.training.max_iters, None, None)?;

    let losses: Vec<f32> = trainer.history.iter().map(|point| point.train_loss).collect();
    let whole_val_loss = whole_split_loss(&trainer, &data.val)?;
    let result = serde_json::json!({
        "about": "burn (flex), chapters/appendix_cpu_speed/examples/from_pytorch_weights.rs",
        "seed": args.seed,
        "losses": losses,
        "evaluations": trainer.evaluations,
        "whole_val_loss": whole_val_loss,
    });
    std::fs::write(&args.out, format!("{result}\n"))?;
    let last = trainer.evaluations.last().expect("training ends with an estimate");
    println!(
        "step {}: train loss {:.4}, val loss {:.4}",
        last.step, last.train_loss, last.val_loss
    );
    println!("whole validation split: {whole_val_loss:.4}");
    Ok(())
}
