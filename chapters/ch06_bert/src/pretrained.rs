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
use burn::prelude::*;
use common::config::read_json;
use common::weights::{Scope, Weights, read_safetensors};
use tokenizers::Tokenizer;

use crate::config::BertConfig;
use crate::error::BertError;
use crate::model::{Bert, BertForMaskedLm, MlmHead};

/// The configuration in `folder/config.json`, validated.
pub fn load_config(folder: &Path) -> Result<BertConfig, BertError> {
    common::hub::check_model_type(folder, &["bert"])?;
    let config: BertConfig = read_json(&folder.join("config.json"), "BERT configuration")?;
    config.validate()?;
    Ok(config)
}

/// The folder's `tokenizer.json` ([`common::hub::load_tokenizer`]), checked against the model it is to feed: every
/// id it can give must have a row in the token embedding, `config.vocab_size` of them. A tokenizer from another
/// model would otherwise index past the table or, smaller, read rows meant for other tokens.
pub fn load_tokenizer(folder: &Path, config: &BertConfig) -> Result<Tokenizer, BertError> {
    let tokenizer = common::hub::load_tokenizer(folder)?;
    let tokens = tokenizer.get_vocab_size(true);
    if tokens > config.vocab_size {
        return Err(BertError::TokenizerLargerThanModel {
            path: folder.join("tokenizer.json"),
            tokens,
            vocab_size: config.vocab_size,
        });
    }
    Ok(tokenizer)
}

/// The encoder of the folder (with its pooler if it has one), with dropout off: `(config, model)`.
pub fn load_bert(folder: &Path, device: &Device) -> Result<(BertConfig, Bert), BertError> {
    let config = load_config(folder)?.with_dropout(0.0);
    let path = folder.join("model.safetensors");
    let bytes = read_safetensors(&path)?;
    let weights = Weights::new(&bytes, &path, device)?;
    let bert = bert(&encoder_scope(&weights), &config)?;
    Ok((config, bert))
}

/// The encoder and its masked-LM head (a `BertForMaskedLM` folder), with dropout off.
pub fn load_masked_lm(folder: &Path, device: &Device) -> Result<(BertConfig, BertForMaskedLm), BertError> {
    let config = load_config(folder)?.with_dropout(0.0);
    let path = folder.join("model.safetensors");
    let bytes = read_safetensors(&path)?;
    let weights = Weights::new(&bytes, &path, device)?;
    let head = weights.scope("cls.predictions");
    if !head.has("bias") {
        return Err(BertError::NoMlmHead { path });
    }
    let d = config.hidden_size;
    let model = BertForMaskedLm {
        bert: bert(&encoder_scope(&weights), &config)?,
        mlm: MlmHead {
            transform: head.pp("transform.dense").linear_transposed(d, d)?,
            norm: head.pp("transform.LayerNorm").layer_norm(config.norm(device))?,
            bias: Param::from_tensor(head.tensor("bias", [config.vocab_size])?),
            activation: config.activation()?,
        },
    };
    Ok((config, model))
}

/// The encoder's tensors: under `bert.` in a `BertForMaskedLM`, at the top in a `BertModel`.
fn encoder_scope<'a>(weights: &'a Weights<'a>) -> Scope<'a> {
    weights.scope(if weights.has_prefix("bert.") { "bert" } else { "" })
}

// ANCHOR: load
/// The encoder, built from the configuration and then given the file's weights, layer by layer. Every dense weight
/// is PyTorch's `nn.Linear`, `[d_out, d_in]`: transposed to burn's layout.
fn bert(w: &Scope, config: &BertConfig) -> Result<Bert, BertError> {
    let (d, f) = (config.hidden_size, config.intermediate_size);
    let has_pooler = w.has("pooler.dense.weight");
    let mut bert = config.init(has_pooler, w.device());
    let (e, embeddings) = (&mut bert.embeddings, w.pp("embeddings"));
    e.input.token = embeddings.pp("word_embeddings").embedding(config.vocab_size, d)?;
    let positions = &mut e.input.position.as_mut().expect("BERT's positions are learned").table;
    *positions = embeddings
        .pp("position_embeddings")
        .embedding(config.max_position_embeddings, d)?;
    e.segment = embeddings
        .pp("token_type_embeddings")
        .embedding(config.type_vocab_size, d)?;
    e.norm = embeddings.pp("LayerNorm").layer_norm(e.norm.clone())?;
    for (i, layer) in bert.layers.iter_mut().enumerate() {
        let l = w.pp("encoder.layer").pp(i);
        let attention = &mut layer.self_attention;
        attention.w_q = l.pp("attention.self.query").linear_transposed(d, d)?;
        attention.w_k = l.pp("attention.self.key").linear_transposed(d, d)?;
        attention.w_v = l.pp("attention.self.value").linear_transposed(d, d)?;
        attention.w_o = l.pp("attention.output.dense").linear_transposed(d, d)?;
        let norm = layer.around_attention.norm.clone();
        layer.around_attention.norm = l.pp("attention.output.LayerNorm").layer_norm(norm)?;
        layer.feed_forward.linear_1 = l.pp("intermediate.dense").linear_transposed(d, f)?;
        layer.feed_forward.linear_2 = l.pp("output.dense").linear_transposed(f, d)?;
        let norm = layer.around_feed_forward.norm.clone();
        layer.around_feed_forward.norm = l.pp("output.LayerNorm").layer_norm(norm)?;
    }
    if has_pooler {
        bert.pooler = Some(w.pp("pooler.dense").linear_transposed(d, d)?);
    }
    Ok(bert)
}
// ANCHOR_END: load
