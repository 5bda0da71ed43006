//! Everything that can go wrong in this chapter, each with what to do about it.

use std::path::PathBuf;

use common::DataError;
use common::config::ConfigFileError;
use common::weights::WeightsError;
use gpt::GptError;
use gpt::generation::GenerationError;

#[derive(Debug, thiserror::Error)]
pub enum Gpt2Error {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error(transparent)]
    Gpt(#[from] GptError),
    #[error(transparent)]
    Generation(#[from] GenerationError),
    #[error(transparent)]
    ConfigFile(#[from] ConfigFileError),
    #[error("config.json asks for {what}, which chapter 5's GPT does not have")]
    UnsupportedConfig { what: String },
    #[error(
        "{folder} has no tokenizer: a GPT-2 folder holds vocab.json and merges.txt, or tokenizer.json, beside \
         config.json and model.safetensors"
    )]
    NoTokenizer { folder: PathBuf },
    #[error("{path}: not a GPT-2 tokenizer file ({message})")]
    TokenizerFile { path: PathBuf, message: String },
    #[error("token id {id} is not in the vocabulary (ids run from 0 to {})", vocab_size - 1)]
    UnknownToken { id: u32, vocab_size: usize },
    #[error(
        "the tokenizer has {tokenizer} tokens but the model's embedding {model} rows: they are not from one folder"
    )]
    TokenizerDoesNotFitModel { tokenizer: usize, model: usize },
    #[error(
        "--model {0}: no such folder, and not a GPT-2 size (gpt2, gpt2-medium, gpt2-large, gpt2-xl): pass --model \
         DIR with a Hugging Face GPT-2 folder, or one of those names"
    )]
    UnknownModel(String),
    #[error("{tokens} tokens: perplexity needs at least two")]
    TooFewTokens { tokens: usize },
    #[error("the stride is {stride}; it must be between 1 and the context, {context}")]
    BadStride { stride: usize, context: usize },
}
