//! What can go wrong outside the model's arithmetic, as one type a caller (the CLI, a notebook, a later chapter)
//! can match on. Each message names the problem and what to do about it.

use std::path::PathBuf;

use common::DeviceFailed;
use common::config::InvalidConfig;
use common::train::Diverged;
use common::train::checkpoint::CheckpointError;
use tokens::{BpeError, TokenizerError};

#[derive(Debug, thiserror::Error)]
pub enum GptError {
    #[error("the corpus is empty: point --data at a text file with something in it")]
    EmptyCorpus,
    #[error(transparent)]
    CharTokenizer(#[from] TokenizerError),
    #[error(transparent)]
    Bpe(#[from] BpeError),
    #[error("{} is not a tokenizer file ({message}): pass the tokenizer.json saved with a checkpoint", path.display())]
    TokenizerFile { path: PathBuf, message: String },
    #[error(
        "{what} has {tokens} tokens, too few for one window of {block_size} + 1: use a longer text (validation is \
         its last 10%) or a config with a smaller block_size"
    )]
    TooFewTokens {
        what: &'static str,
        tokens: usize,
        block_size: usize,
    },
    #[error("--config {name:?} is neither a preset (baby, small, tiny) nor a readable config file: {message}")]
    UnknownConfig { name: String, message: String },
    #[error("{origin}: {source}")]
    InvalidConfig { origin: String, source: InvalidConfig },
    #[error(transparent)]
    Diverged(#[from] Diverged),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("the checkpoint {} is inconsistent: its tokenizer has {tokenizer} tokens, its model {model}", dir.display())]
    InconsistentCheckpoint {
        dir: PathBuf,
        tokenizer: usize,
        model: usize,
    },
    #[error("the weights do not fit this model: {}", problems.join("; "))]
    WeightsDoNotFit { problems: Vec<String> },
    #[error(
        "the device failed ({cause}). On a GPU the model may need more memory than the device has, or buffers larger \
         than the adapter allows (software adapters such as llvmpipe allow smaller ones): use a smaller model or batch \
         (--config), or --device cpu"
    )]
    DeviceFailed { cause: String },
}

impl From<DeviceFailed> for GptError {
    fn from(error: DeviceFailed) -> Self {
        GptError::DeviceFailed { cause: error.cause }
    }
}

impl GptError {
    /// A device failure from burn's report, which lists every operation it skipped: only its innermost cause.
    pub fn device_failed(report: &str) -> Self {
        DeviceFailed::from_report(report).into()
    }
}
