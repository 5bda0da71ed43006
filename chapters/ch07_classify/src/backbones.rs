//! Where each backbone comes from and how it reads text: chapter 5's GPT and chapter 6's BERT from their
//! pretraining checkpoints, all-MiniLM-L6-v2 from a Hugging Face folder, and the same architecture from random
//! weights, to see what pretraining is worth.

use std::path::{Path, PathBuf};

use bert::{BertConfig, BertVocab};
use burn::prelude::*;
use common::hub::{ALL_MINILM_L6_V2, Tokenizer};
use gpt::GptConfig;
use serde::{Deserialize, Serialize};
use tokens::BpeTokenizer;

use crate::ClassifyError;
use crate::model::{Backbone, BackboneSize, Pooling};

/// The four backbones of the chapter's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum BackboneKind {
    /// Chapter 5's GPT pretrained on Tiny Shakespeare with byte-level BPE.
    Gpt,
    /// Chapter 6's BERT pretrained on Tiny Shakespeare.
    Bert,
    /// all-MiniLM-L6-v2 (6 layers, 384 wide, 22.7M parameters), pretrained on a billion sentence pairs.
    Minilm,
    /// MiniLM's architecture and tokenizer with random weights.
    Scratch,
}

impl BackboneKind {
    pub fn name(self) -> &'static str {
        match self {
            BackboneKind::Gpt => "gpt",
            BackboneKind::Bert => "bert",
            BackboneKind::Minilm => "minilm",
            BackboneKind::Scratch => "scratch",
        }
    }

    /// The pretraining run `train --from` reads by default (MiniLM's folder comes from `--model` or the cache).
    pub fn default_from(self) -> Option<&'static str> {
        match self {
            BackboneKind::Gpt => Some("runs/gpt-bpe"),
            BackboneKind::Bert => Some("runs/bert-small"),
            BackboneKind::Minilm | BackboneKind::Scratch => None,
        }
    }

    /// The pooling the book uses: the last token for the causal GPT, `[CLS]` for chapter 6's BERT (its
    /// pretraining had no sentence objective, so nothing favours either), the mean for MiniLM (what it was
    /// trained to give).
    pub fn default_pooling(self) -> Pooling {
        match self {
            BackboneKind::Gpt => Pooling::Last,
            BackboneKind::Bert => Pooling::Cls,
            BackboneKind::Minilm | BackboneKind::Scratch => Pooling::Mean,
        }
    }
}

/// The backbone's configuration, which a classifier's checkpoint stores to rebuild it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Architecture {
    Gpt(GptConfig),
    Bert(BertConfig),
}

impl Architecture {
    /// A backbone of this architecture with fresh weights, no dropout.
    pub fn init(&self, device: &Device) -> Backbone {
        match self {
            Architecture::Gpt(config) => Backbone::Gpt(config.clone().with_dropout(0.0).init(device)),
            Architecture::Bert(config) => Backbone::Bert(config.clone().with_dropout(0.0).init(false, device)),
        }
    }

    /// The most tokens the backbone reads.
    pub fn context(&self) -> usize {
        match self {
            Architecture::Gpt(config) => config.block_size,
            Architecture::Bert(config) => config.max_position_embeddings,
        }
    }

    pub fn size(&self) -> BackboneSize {
        match self {
            Architecture::Gpt(c) => BackboneSize {
                width: c.n_embd,
                layers: c.n_layer,
                per_layer: c.num_block_params(),
                after_layers: c.num_final_norm_params(),
                total: c.num_params(),
            },
            Architecture::Bert(c) => BackboneSize {
                width: c.hidden_size,
                layers: c.num_hidden_layers,
                per_layer: c.num_layer_params(),
                after_layers: 0,
                total: c.num_encoder_params(),
            },
        }
    }
}

// ANCHOR: text_encoder
/// How a backbone turns a message into token ids.
#[derive(Debug, Clone)]
pub enum TextEncoder {
    /// Chapter 1's byte-level BPE (the GPT): any text encodes, digits and emoji included.
    Bpe(BpeTokenizer),
    /// Chapter 6's vocabulary: `[CLS]` BPE tokens `[SEP]`.
    Bert(BertVocab),
    /// A Hugging Face `tokenizer.json` (MiniLM's WordPiece: `[CLS]` ... `[SEP]`).
    HuggingFace(Box<Tokenizer>),
}

impl TextEncoder {
    /// The ids of `text`, cut to the first `max_len` (a BERT's `[SEP]` kept at the end).
    pub fn encode(&self, text: &str, max_len: usize) -> Result<Vec<u32>, ClassifyError> {
        if text.trim().is_empty() {
            return Err(ClassifyError::EmptyMessage);
        }
        let (mut ids, ends_with_sep) = match self {
            TextEncoder::Bpe(bpe) => (bpe.encode(text), false),
            TextEncoder::Bert(vocab) => {
                let special = vocab.special();
                let mut ids = vec![special.cls];
                ids.extend(vocab.bpe.encode(text));
                ids.push(special.sep);
                (ids, true)
            }
            TextEncoder::HuggingFace(tokenizer) => {
                let encoding = tokenizer
                    .encode(text, true)
                    .map_err(|e| ClassifyError::Tokenize(e.to_string()))?;
                (encoding.get_ids().to_vec(), true)
            }
        };
        if ids.len() > max_len {
            let last = *ids.last().expect("longer than max_len");
            ids.truncate(max_len);
            if ends_with_sep {
                ids[max_len - 1] = last;
            }
        }
        Ok(ids)
    }

    /// The id padding is filled with (never read: the mask or causality hides it).
    pub fn pad_id(&self) -> u32 {
        match self {
            TextEncoder::Bpe(_) => 0,
            TextEncoder::Bert(vocab) => vocab.special().pad,
            TextEncoder::HuggingFace(tokenizer) => tokenizer.token_to_id("[PAD]").unwrap_or(0),
        }
    }

    /// The tokenizer as a file, stored in a checkpoint beside the weights.
    pub fn to_file(&self) -> Result<String, ClassifyError> {
        Ok(match self {
            TextEncoder::Bpe(bpe) => gpt::Tokenizer::Bpe(bpe.clone()).to_json(),
            TextEncoder::Bert(vocab) => vocab.to_json(),
            TextEncoder::HuggingFace(tokenizer) => tokenizer
                .to_string(false)
                .map_err(|e| ClassifyError::Tokenize(e.to_string()))?,
        })
    }

    /// The tokenizer of kind `kind` stored by [`TextEncoder::to_file`] in `path`.
    pub fn from_file(kind: BackboneKind, text: &str, path: &Path) -> Result<Self, ClassifyError> {
        Ok(match kind {
            BackboneKind::Gpt => match gpt::Tokenizer::from_json(text, path)? {
                gpt::Tokenizer::Bpe(bpe) => TextEncoder::Bpe(bpe),
                gpt::Tokenizer::Char(_) => return Err(ClassifyError::CharacterGpt { path: path.into() }),
            },
            BackboneKind::Bert => TextEncoder::Bert(BertVocab::from_json(text)?),
            BackboneKind::Minilm | BackboneKind::Scratch => {
                let mut tokenizer: Tokenizer = text
                    .parse()
                    .map_err(|e: tokenizers::Error| ClassifyError::Tokenize(format!("{}: {e}", path.display())))?;
                tokenizer.with_padding(None);
                TextEncoder::HuggingFace(Box::new(tokenizer))
            }
        })
    }
}
// ANCHOR_END: text_encoder

/// A backbone ready to fine-tune: its weights, its configuration, and its tokenizer.
pub struct Pretrained {
    pub backbone: Backbone,
    pub architecture: Architecture,
    pub encoder: TextEncoder,
}

// ANCHOR: load
/// The backbone `kind`, from `from`: the pretraining run's directory for the GPT and the BERT
/// ([`BackboneKind::default_from`] if `None`), a Hugging Face folder for MiniLM and its random twin (the cached
/// download of all-MiniLM-L6-v2 if `None`).
pub fn load_backbone(kind: BackboneKind, from: Option<&Path>, device: &Device) -> Result<Pretrained, ClassifyError> {
    let run = || {
        from.map(PathBuf::from)
            .unwrap_or_else(|| kind.default_from().unwrap_or_default().into())
    };
    let wrong = |path: PathBuf, message: String, hint| ClassifyError::WrongBackbone {
        path,
        backbone: kind.name(),
        message,
        hint,
    };
    Ok(match kind {
        BackboneKind::Gpt => {
            let path = run();
            let (gpt, config, tokenizer) = gpt::training::load_checkpoint(&path, device).map_err(|e| {
                wrong(
                    path.clone(),
                    e.to_string(),
                    "a chapter 5 pretraining with byte-level BPE",
                )
            })?;
            let gpt::Tokenizer::Bpe(bpe) = tokenizer else {
                return Err(ClassifyError::CharacterGpt { path });
            };
            Pretrained {
                backbone: Backbone::Gpt(gpt),
                architecture: Architecture::Gpt(config.model),
                encoder: TextEncoder::Bpe(bpe),
            }
        }
        BackboneKind::Bert => {
            let path = run();
            let (config, masked_lm, vocab) = bert::training::load_checkpoint(&path, device)
                .map_err(|e| wrong(path.clone(), e.to_string(), "a chapter 6 pretraining"))?;
            Pretrained {
                backbone: Backbone::Bert(masked_lm.bert),
                architecture: Architecture::Bert(config.model),
                encoder: TextEncoder::Bert(vocab),
            }
        }
        BackboneKind::Minilm | BackboneKind::Scratch => {
            let folder = ALL_MINILM_L6_V2.locate(from)?;
            let config = bert::pretrained::load_config(&folder)?.with_dropout(0.1);
            let encoder = TextEncoder::HuggingFace(Box::new(bert::pretrained::load_tokenizer(&folder, &config)?));
            let mut bert = if kind == BackboneKind::Minilm {
                bert::pretrained::load_bert(&folder, device)?.1
            } else {
                config.init(false, device)
            };
            // The sentence vector is pooled from the states: MiniLM's unused `[CLS]` pooler would only sit there.
            bert.pooler = None;
            Pretrained {
                backbone: Backbone::Bert(bert),
                architecture: Architecture::Bert(config),
                encoder,
            }
        }
    })
}
// ANCHOR_END: load
