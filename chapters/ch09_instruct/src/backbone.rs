//! Where the model to fine-tune comes from: chapter 5's GPT after its pretraining, the same architecture with
//! random weights (what pretraining is worth), or OpenAI's GPT-2 through chapter 8's loader.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use gpt::{Gpt, GptConfig, Tokenizer};
use gpt2::Gpt2Tokenizer;
use serde::{Deserialize, Serialize};

use crate::InstructError;
use crate::tokenize::{InstructionTokenizer, with_end_of_text};

/// The backbones of the chapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum BackboneKind {
    /// Chapter 5's GPT, pretrained on Tiny Shakespeare (`gpt train --bpe 2048 --config
    /// chapters/ch09_instruct/pretrain.json`).
    Gpt,
    /// The same architecture and tokenizer with random weights.
    Scratch,
    /// OpenAI's GPT-2 (`gpt2`, `gpt2-medium`, ... or a Hugging Face folder), through chapter 8's loader.
    Gpt2,
}

impl BackboneKind {
    pub fn name(self) -> &'static str {
        match self {
            BackboneKind::Gpt => "gpt",
            BackboneKind::Scratch => "scratch",
            BackboneKind::Gpt2 => "gpt2",
        }
    }

    /// Where `--from` points by default: chapter 9's pretraining run, or GPT-2 by name.
    pub fn default_from(self) -> &'static str {
        match self {
            BackboneKind::Gpt | BackboneKind::Scratch => "runs/gpt-instruct",
            BackboneKind::Gpt2 => "gpt2",
        }
    }
}

/// A model ready to fine-tune: its weights (with an end-of-text token), its configuration and tokenizer, and the
/// tokenizer's files, which a checkpoint keeps beside the weights.
pub struct Backbone {
    pub model: Gpt,
    pub config: GptConfig,
    pub tokenizer: InstructionTokenizer,
    pub tokenizer_files: Vec<(&'static str, Vec<u8>)>,
}

/// The file a chapter 5 tokenizer is kept in.
pub const CHAPTER5_TOKENIZER_FILE: &str = "tokenizer.json";
/// GPT-2's tokenizer files, in the order chapter 8's loader prefers them.
pub const GPT2_TOKENIZER_FILES: [&str; 3] = ["vocab.json", "merges.txt", "tokenizer.json"];

// ANCHOR: load
/// The backbone `kind` from `from`: a chapter 5 run's directory for [`BackboneKind::Gpt`] and
/// [`BackboneKind::Scratch`] (whose configuration and tokenizer it takes, and none of its weights), a GPT-2 name or
/// Hugging Face folder for [`BackboneKind::Gpt2`]. A chapter 5 model gets an end-of-text token
/// ([`with_end_of_text`]); GPT-2 has its own.
pub fn load_backbone(kind: BackboneKind, from: &str, device: &Device) -> Result<Backbone, InstructError> {
    match kind {
        BackboneKind::Gpt | BackboneKind::Scratch => {
            let path = PathBuf::from(from);
            let (pretrained, run, tokenizer) =
                gpt::training::load_checkpoint(&path, device).map_err(|e| InstructError::WrongBackbone {
                    path: path.clone(),
                    backbone: kind.name(),
                    message: e.to_string(),
                    hint: "pass the run directory of a chapter 5 pretraining (`gpt train --bpe 2048 --config \
                           chapters/ch09_instruct/pretrain.json --out runs/gpt-instruct`)",
                })?;
            let config = GptConfig {
                vocab_size: run.model.vocab_size + 1,
                ..run.model
            };
            let model = match kind {
                BackboneKind::Gpt => with_end_of_text(pretrained),
                _ => config.init(device),
            };
            let tokenizer_files = vec![(CHAPTER5_TOKENIZER_FILE, tokenizer.to_json().into_bytes())];
            Ok(Backbone {
                model,
                config,
                tokenizer: InstructionTokenizer::Chapter5(tokenizer),
                tokenizer_files,
            })
        }
        BackboneKind::Gpt2 => {
            let folder = gpt2::hub::locate(from)?;
            let (config, model) = gpt2::load_gpt2(&folder, device)?;
            let tokenizer = gpt2_tokenizer(&folder, &config)?;
            Ok(Backbone {
                model,
                config,
                tokenizer,
                tokenizer_files: read_tokenizer_files(BackboneKind::Gpt2, &folder)?,
            })
        }
    }
}
// ANCHOR_END: load

/// GPT-2's tokenizer in `folder`, checked against the model of `config`: every id it gives must have a row, and
/// it must have `<|endoftext|>`.
pub fn gpt2_tokenizer(folder: &Path, config: &GptConfig) -> Result<InstructionTokenizer, InstructError> {
    let tokenizer = Gpt2Tokenizer::from_folder(folder)?;
    if tokenizer.vocab_size() > config.vocab_size {
        return Err(gpt2::Gpt2Error::TokenizerDoesNotFitModel {
            tokenizer: tokenizer.vocab_size(),
            model: config.vocab_size,
        }
        .into());
    }
    if tokenizer.end_of_text().is_none() {
        return Err(InstructError::Inconsistent {
            path: folder.to_path_buf(),
            message: format!(
                "its vocabulary has no {} token, which ends every response",
                gpt2::END_OF_TEXT
            ),
        });
    }
    Ok(InstructionTokenizer::Gpt2(Box::new(tokenizer)))
}

/// The tokenizer files of a `kind` backbone kept in `dir` (a GPT-2 folder, or a checkpoint): chapter 5's
/// `tokenizer.json`; for GPT-2, as chapter 8's loader reads them, `vocab.json` and `merges.txt`, or else
/// `tokenizer.json`.
pub fn read_tokenizer_files(kind: BackboneKind, dir: &Path) -> Result<Vec<(&'static str, Vec<u8>)>, InstructError> {
    let [vocab, merges, json] = GPT2_TOKENIZER_FILES;
    let names = match kind {
        BackboneKind::Gpt | BackboneKind::Scratch => vec![CHAPTER5_TOKENIZER_FILE],
        BackboneKind::Gpt2 if dir.join(vocab).is_file() && dir.join(merges).is_file() => vec![vocab, merges],
        BackboneKind::Gpt2 => vec![json],
    };
    names
        .into_iter()
        .map(|name| {
            let bytes = std::fs::read(dir.join(name)).map_err(|e| InstructError::Inconsistent {
                path: dir.join(name),
                message: format!("cannot be read: {e}"),
            })?;
            Ok((name, bytes))
        })
        .collect()
}

/// The tokenizer a checkpoint of a `kind` backbone keeps in `dir`, for a model of `config`.
pub fn read_tokenizer(
    kind: BackboneKind,
    dir: &Path,
    config: &GptConfig,
) -> Result<InstructionTokenizer, InstructError> {
    let tokenizer = match kind {
        BackboneKind::Gpt | BackboneKind::Scratch => {
            let path = dir.join(CHAPTER5_TOKENIZER_FILE);
            let text = std::fs::read_to_string(&path).map_err(|e| InstructError::Inconsistent {
                path: path.clone(),
                message: format!("cannot be read: {e}"),
            })?;
            InstructionTokenizer::Chapter5(Tokenizer::from_json(&text, &path)?)
        }
        BackboneKind::Gpt2 => gpt2_tokenizer(dir, config)?,
    };
    if tokenizer.vocab_size() > config.vocab_size {
        return Err(InstructError::Inconsistent {
            path: dir.to_path_buf(),
            message: format!(
                "its tokenizer has {} tokens (end-of-text included) and the model rows for {}",
                tokenizer.vocab_size(),
                config.vocab_size
            ),
        });
    }
    Ok(tokenizer)
}
