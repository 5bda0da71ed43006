//! A pretrained BERT from a Hugging Face folder: `config.json` into [`BertConfig`], `model.safetensors` into
//! [`Bert`] (and its masked-LM head, when the folder has one), `tokenizer.json` through the `tokenizers` crate.
//!
//! What loading takes, tensor by tensor (Hugging Face's name → this chapter's module):
//!
//! | `model.safetensors` | here |
//! |---|---|
//! | `embeddings.word_embeddings` / `position_embeddings` / `token_type_embeddings` | `embeddings.input.token`, `embeddings.input.position`, `embeddings.segment` |
//! | `embeddings.LayerNorm` | `embeddings.norm` |
//! | `encoder.layer.N.attention.self.query` / `key` / `value` | `layers.N.self_attention.w_q` / `w_k` / `w_v` |
//! | `encoder.layer.N.attention.output.dense` / `LayerNorm` | `w_o`, `around_attention.norm` |
//! | `encoder.layer.N.intermediate.dense`, `output.dense` / `LayerNorm` | `feed_forward.linear_1`, `linear_2`, `around_feed_forward.norm` |
//! | `pooler.dense` | `pooler` |
//! | `cls.predictions.transform.dense` / `LayerNorm`, `cls.predictions.bias` | `mlm.transform`, `mlm.norm`, `mlm.bias` |
//!
//! PyTorch's `nn.Linear` stores W as `[out, in]` (y = x Wᵀ + b), burn's `Linear` as `[in, out]`
//! (y = xW + b): every dense weight is transposed. Layer norms are `weight`/`bias` (`gamma`/`beta` in older
//! checkpoints). A `BertForMaskedLM` prefixes the encoder's names with `bert.`. The buffer
//! `embeddings.position_ids` holds no weights and is skipped, and so is `cls.predictions.decoder.weight`: the
//! decoder is tied to the token embedding.

use std::path::Path;

use burn::module::Param;
use burn::nn::{Embedding, LayerNorm, LayerNormConfig, Linear};
use burn::prelude::*;
use common::weights::{Weights, read_safetensors};

use crate::config::BertConfig;
use crate::error::BertError;
use crate::model::{Bert, BertForMaskedLm, MlmHead};

/// The configuration in `folder/config.json`, validated.
pub fn load_config(folder: &Path) -> Result<BertConfig, BertError> {
    let path = folder.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(|e| BertError::ConfigFile {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let config: BertConfig = serde_json::from_str(&text).map_err(|e| BertError::ConfigFile {
        path,
        message: e.to_string(),
    })?;
    config.validate()?;
    Ok(config)
}

/// The encoder of the folder (with its pooler if it has one), with dropout off: `(config, model)`.
pub fn load_bert(folder: &Path, device: &Device) -> Result<(BertConfig, Bert), BertError> {
    let config = load_config(folder)?.with_dropout(0.0);
    let path = folder.join("model.safetensors");
    let bytes = read_safetensors(&path)?;
    let file = Weights::new(&bytes, &path, device)?;
    let bert = BertWeights::new(&file).bert(&config)?;
    Ok((config, bert))
}

/// The encoder and its masked-LM head (a `BertForMaskedLM` folder), with dropout off.
pub fn load_masked_lm(folder: &Path, device: &Device) -> Result<(BertConfig, BertForMaskedLm), BertError> {
    let config = load_config(folder)?.with_dropout(0.0);
    let path = folder.join("model.safetensors");
    let bytes = read_safetensors(&path)?;
    let file = Weights::new(&bytes, &path, device)?;
    let weights = BertWeights::new(&file);
    if !weights.has("cls.predictions.bias") {
        return Err(BertError::NoMlmHead { path });
    }
    let model = BertForMaskedLm {
        bert: weights.bert(&config)?,
        mlm: MlmHead {
            transform: weights.linear(
                "cls.predictions.transform.dense",
                config.hidden_size,
                config.hidden_size,
            )?,
            norm: weights.layer_norm("cls.predictions.transform.LayerNorm", &config)?,
            bias: Param::from_tensor(weights.tensor("cls.predictions.bias", [config.vocab_size])?),
            activation: config.activation()?,
        },
    };
    Ok((config, model))
}

/// The file's tensors under BERT's names.
struct BertWeights<'a> {
    weights: &'a Weights<'a>,
    /// `bert.` in a `BertForMaskedLM`, nothing in a `BertModel`.
    prefix: &'static str,
}

impl<'a> BertWeights<'a> {
    fn new(weights: &'a Weights<'a>) -> Self {
        let prefix = if weights.has_prefix("bert.") { "bert." } else { "" };
        BertWeights { weights, prefix }
    }

    fn has(&self, name: &str) -> bool {
        self.weights.has(name)
    }

    /// The F32 tensor `name`, which must have `shape`.
    fn tensor<const D: usize>(&self, name: &str, shape: [usize; D]) -> Result<Tensor<D>, BertError> {
        Ok(self.weights.tensor(name, shape)?)
    }

    // ANCHOR: load
    /// `name.weight` `[d_out, d_in]` (PyTorch's layout) transposed to burn's `[d_in, d_out]`, and `name.bias`.
    fn linear(&self, name: &str, d_in: usize, d_out: usize) -> Result<Linear, BertError> {
        let weight = self.tensor(&format!("{name}.weight"), [d_out, d_in])?.transpose();
        let bias = self.tensor(&format!("{name}.bias"), [d_out])?;
        Ok(Linear {
            weight: Param::from_tensor(weight),
            bias: Some(Param::from_tensor(bias)),
        })
    }

    fn layer_norm(&self, name: &str, config: &BertConfig) -> Result<LayerNorm, BertError> {
        let d = config.hidden_size;
        let (scale, shift) = if self.has(&format!("{name}.gamma")) {
            ("gamma", "beta")
        } else {
            ("weight", "bias")
        };
        let mut norm = LayerNormConfig::new(d)
            .with_epsilon(config.layer_norm_eps)
            .init(self.weights.device());
        norm.gamma = Param::from_tensor(self.tensor(&format!("{name}.{scale}"), [d])?);
        norm.beta = Some(Param::from_tensor(self.tensor(&format!("{name}.{shift}"), [d])?));
        Ok(norm)
    }

    fn embedding(&self, name: &str, n: usize, d: usize) -> Result<Embedding, BertError> {
        Ok(Embedding {
            weight: Param::from_tensor(self.tensor(&format!("{name}.weight"), [n, d])?),
        })
    }

    /// The encoder, built from the configuration and then given the file's weights, layer by layer.
    fn bert(&self, config: &BertConfig) -> Result<Bert, BertError> {
        let (p, d, f) = (self.prefix, config.hidden_size, config.intermediate_size);
        let has_pooler = self.has(&format!("{p}pooler.dense.weight"));
        let mut bert = config.init(has_pooler, self.weights.device());
        let e = &mut bert.embeddings;
        e.input.token = self.embedding(&format!("{p}embeddings.word_embeddings"), config.vocab_size, d)?;
        let positions = &mut e.input.position.as_mut().expect("BERT's positions are learned").table;
        *positions = self.embedding(
            &format!("{p}embeddings.position_embeddings"),
            config.max_position_embeddings,
            d,
        )?;
        e.segment = self.embedding(
            &format!("{p}embeddings.token_type_embeddings"),
            config.type_vocab_size,
            d,
        )?;
        e.norm = self.layer_norm(&format!("{p}embeddings.LayerNorm"), config)?;
        for (i, layer) in bert.layers.iter_mut().enumerate() {
            let name = |rest: &str| format!("{p}encoder.layer.{i}.{rest}");
            let attention = &mut layer.self_attention;
            attention.w_q = self.linear(&name("attention.self.query"), d, d)?;
            attention.w_k = self.linear(&name("attention.self.key"), d, d)?;
            attention.w_v = self.linear(&name("attention.self.value"), d, d)?;
            attention.w_o = self.linear(&name("attention.output.dense"), d, d)?;
            layer.around_attention.norm = self.layer_norm(&name("attention.output.LayerNorm"), config)?;
            layer.feed_forward.linear_1 = self.linear(&name("intermediate.dense"), d, f)?;
            layer.feed_forward.linear_2 = self.linear(&name("output.dense"), f, d)?;
            layer.around_feed_forward.norm = self.layer_norm(&name("output.LayerNorm"), config)?;
        }
        if has_pooler {
            bert.pooler = Some(self.linear(&format!("{p}pooler.dense"), d, d)?);
        }
        Ok(bert)
    }
    // ANCHOR_END: load
}
