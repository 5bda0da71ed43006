//! GPT-2's weights from a Hugging Face `model.safetensors` into chapter 5's [`Gpt`].
//!
//! | `model.safetensors` (with or without `transformer.`) | chapter 5 |
//! |---|---|
//! | `wte`, `wpe` | `embedding.token`, `embedding.position` |
//! | `h.N.ln_1`, `h.N.ln_2` | `blocks.N.around_attention.norm`, `blocks.N.around_mlp.norm` |
//! | `h.N.attn.c_attn` `[d, 3d]` | `blocks.N.attention.w_q`, `w_k`, `w_v`: its three column blocks |
//! | `h.N.attn.c_proj` | `blocks.N.attention.w_o` |
//! | `h.N.mlp.c_fc`, `h.N.mlp.c_proj` | `blocks.N.mlp.linear_1`, `linear_2` |
//! | `ln_f` | `final_norm` |
//!
//! OpenAI wrote GPT-2 in TensorFlow, where a dense layer's kernel is `[in, out]`; Hugging Face kept it in a
//! `Conv1D` module with the same layout, which is burn's: unlike BERT's `nn.Linear` weights (chapter 6), nothing
//! is transposed. `lm_head.weight`, when present, is the same matrix as `wte` (tied) and is not read; the causal
//! mask buffers (`attn.bias`, `attn.masked_bias`) of old checkpoints hold no weights.

use std::path::Path;

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use common::weights::{Scope, Weights, read_safetensors};
use gpt::{Gpt, GptConfig};

use crate::{Gpt2Config, Gpt2Error};

/// The model of a Hugging Face GPT-2 folder (`config.json`, `model.safetensors`), ready for inference.
pub fn load_gpt2(folder: &Path, device: &Device) -> Result<(GptConfig, Gpt), Gpt2Error> {
    let config = Gpt2Config::from_folder(folder)?.to_gpt()?;
    let path = folder.join("model.safetensors");
    let bytes = read_safetensors(&path)?;
    let weights = Weights::new(&bytes, &path, device)?;
    // `transformer.` in a `GPT2LMHeadModel`'s file, nothing in a `GPT2Model`'s.
    let prefix = if weights.has_prefix("transformer.") {
        "transformer"
    } else {
        ""
    };
    let model = gpt(&weights.scope(prefix), &config)?;
    Ok((config, model))
}

// ANCHOR: load
/// Chapter 5's model built from `config`, every parameter then replaced by the file's.
fn gpt(w: &Scope, config: &GptConfig) -> Result<Gpt, Gpt2Error> {
    let d = config.n_embd;
    let mut model = config.init(w.device());
    model.embedding.token = w.pp("wte").embedding(config.vocab_size, d)?;
    let positions = model
        .embedding
        .position
        .as_mut()
        .expect("GPT-2's positions are learned");
    positions.table = w.pp("wpe").embedding(config.block_size, d)?;
    for (n, block) in model.blocks.iter_mut().enumerate() {
        let h = w.pp("h").pp(n);
        let [w_q, w_k, w_v] = query_key_value(&h.pp("attn.c_attn"), d)?;
        let attention = &mut block.attention;
        (attention.w_q, attention.w_k, attention.w_v) = (w_q, w_k, w_v);
        attention.w_o = h.pp("attn.c_proj").linear(d, d)?;
        block.mlp.linear_1 = h.pp("mlp.c_fc").linear(d, 4 * d)?;
        block.mlp.linear_2 = h.pp("mlp.c_proj").linear(4 * d, d)?;
        block.around_attention.norm = h.pp("ln_1").layer_norm(block.around_attention.norm.clone())?;
        block.around_mlp.norm = h.pp("ln_2").layer_norm(block.around_mlp.norm.clone())?;
    }
    model.final_norm = w.pp("ln_f").layer_norm(model.final_norm.clone())?;
    Ok(model)
}

/// `c_attn`'s weight `[d, 3d]` and bias `[3d]`, cut into W^Q, W^K, W^V (columns 0..d, d..2d, 2d..3d).
fn query_key_value(c_attn: &Scope, d: usize) -> Result<[Linear; 3], Gpt2Error> {
    let weight = c_attn.tensor("weight", [d, 3 * d])?;
    let bias = c_attn.tensor("bias", [3 * d])?;
    Ok([0, 1, 2].map(|i| Linear {
        weight: Param::from_tensor(weight.clone().slice([0..d, i * d..(i + 1) * d])),
        bias: Some(Param::from_tensor(bias.clone().slice(i * d..(i + 1) * d))),
    }))
}
// ANCHOR_END: load
