//! Throughput and memory, measured: sampling tokens per second with and without the KV cache, and the process's
//! peak resident memory; data to time training steps on (the kit's `Trainer::time_steps` times them).
//! `cargo run --release -p gpt -- bench` prints them.

use std::time::Instant;

use common::rng::SplitMix64;
use tokens::CharTokenizer;

use crate::data::{TokenSplits, Tokenizer};
use crate::generation::{Decoder, SamplingConfig, generate};

/// Random token ids: throughput does not depend on what the tokens say, and a benchmark should not need the data.
pub fn synthetic_tokens(vocab_size: usize, len: usize, seed: u64) -> TokenSplits {
    let mut rng = SplitMix64::new(seed);
    let mut ids = || (0..len).map(|_| rng.below(vocab_size) as u32).collect::<Vec<_>>();
    TokenSplits {
        train: ids(),
        val: ids(),
    }
}

/// A character tokenizer of `vocab_size` tokens (letters from U+0100 on), for runs on [`synthetic_tokens`].
pub fn synthetic_tokenizer(vocab_size: usize) -> Tokenizer {
    let letters: String = (0..vocab_size as u32)
        .filter_map(|i| char::from_u32(0x100 + i))
        .collect();
    Tokenizer::Char(CharTokenizer::from_corpus(&letters).expect("a non-empty alphabet"))
}

/// New tokens per second generating `new_tokens` after a one-token prompt, with or without the KV cache.
pub fn sampling_throughput(model: &impl Decoder, new_tokens: usize, use_cache: bool) -> f64 {
    let config = SamplingConfig::new().with_use_cache(use_cache).with_top_k(Some(200));
    let started = Instant::now();
    let generation = generate(model, &[0], new_tokens, &config, |_| false).expect("a one-token prompt is valid");
    generation.tokens.len() as f64 / started.elapsed().as_secs_f64()
}
