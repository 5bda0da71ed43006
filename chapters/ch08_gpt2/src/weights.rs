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
use burn::nn::{Embedding, LayerNorm, Linear};
use burn::prelude::*;
use common::weights::{Weights, read_safetensors};
use gpt::{Gpt, GptConfig};

use crate::{Gpt2Config, Gpt2Error};

/// The model of a Hugging Face GPT-2 folder (`config.json`, `model.safetensors`), ready for inference.
pub fn load_gpt2(folder: &Path, device: &Device) -> Result<(GptConfig, Gpt), Gpt2Error> {
    let config = Gpt2Config::from_folder(folder)?.to_gpt()?;
    let path = folder.join("model.safetensors");
    let bytes = read_safetensors(&path)?;
    let weights = Weights::new(&bytes, &path, device)?;
    let model = GptWeights::new(&weights).gpt(&config)?;
    Ok((config, model))
}

/// The file's tensors under GPT-2's names.
struct GptWeights<'a> {
    weights: &'a Weights<'a>,
    /// `transformer.` in a `GPT2LMHeadModel`'s file, nothing in a `GPT2Model`'s.
    prefix: &'static str,
}

// ANCHOR: load
impl<'a> GptWeights<'a> {
    fn new(weights: &'a Weights<'a>) -> Self {
        let prefix = if weights.has_prefix("transformer.") {
            "transformer."
        } else {
            ""
        };
        GptWeights { weights, prefix }
    }

    fn tensor<const D: usize>(&self, name: &str, shape: [usize; D]) -> Result<Tensor<D>, Gpt2Error> {
        Ok(self.weights.tensor(&format!("{}{name}", self.prefix), shape)?)
    }

    /// A `Conv1D`: weight `[d_in, d_out]` as it is, and its bias.
    fn linear(&self, name: &str, d_in: usize, d_out: usize) -> Result<Linear, Gpt2Error> {
        Ok(Linear {
            weight: Param::from_tensor(self.tensor(&format!("{name}.weight"), [d_in, d_out])?),
            bias: Some(Param::from_tensor(self.tensor(&format!("{name}.bias"), [d_out])?)),
        })
    }

    /// `c_attn`'s weight `[d, 3d]` and bias `[3d]`, cut into W^Q, W^K, W^V (columns 0..d, d..2d, 2d..3d).
    fn query_key_value(&self, name: &str, d: usize) -> Result<[Linear; 3], Gpt2Error> {
        let weight = self.tensor(&format!("{name}.weight"), [d, 3 * d])?;
        let bias = self.tensor(&format!("{name}.bias"), [3 * d])?;
        Ok([0, 1, 2].map(|i| Linear {
            weight: Param::from_tensor(weight.clone().slice([0..d, i * d..(i + 1) * d])),
            bias: Some(Param::from_tensor(bias.clone().slice(i * d..(i + 1) * d))),
        }))
    }

    /// `name.weight` and `name.bias` into `norm` (built from the configuration, so its epsilon is kept).
    fn load_layer_norm(&self, name: &str, norm: &mut LayerNorm, d: usize) -> Result<(), Gpt2Error> {
        norm.gamma = Param::from_tensor(self.tensor(&format!("{name}.weight"), [d])?);
        norm.beta = Some(Param::from_tensor(self.tensor(&format!("{name}.bias"), [d])?));
        Ok(())
    }

    fn embedding(&self, name: &str, n: usize, d: usize) -> Result<Embedding, Gpt2Error> {
        Ok(Embedding {
            weight: Param::from_tensor(self.tensor(&format!("{name}.weight"), [n, d])?),
        })
    }

    /// Chapter 5's model built from `config`, every parameter then replaced by the file's.
    fn gpt(&self, config: &GptConfig) -> Result<Gpt, Gpt2Error> {
        let d = config.n_embd;
        let mut model = config.init(self.weights.device());
        model.embedding.token = self.embedding("wte", config.vocab_size, d)?;
        let positions = model
            .embedding
            .position
            .as_mut()
            .expect("GPT-2's positions are learned");
        positions.table = self.embedding("wpe", config.block_size, d)?;
        for (n, block) in model.blocks.iter_mut().enumerate() {
            let h = format!("h.{n}");
            let [w_q, w_k, w_v] = self.query_key_value(&format!("{h}.attn.c_attn"), d)?;
            let attention = &mut block.attention;
            (attention.w_q, attention.w_k, attention.w_v) = (w_q, w_k, w_v);
            attention.w_o = self.linear(&format!("{h}.attn.c_proj"), d, d)?;
            block.mlp.linear_1 = self.linear(&format!("{h}.mlp.c_fc"), d, 4 * d)?;
            block.mlp.linear_2 = self.linear(&format!("{h}.mlp.c_proj"), 4 * d, d)?;
            self.load_layer_norm(&format!("{h}.ln_1"), &mut block.around_attention.norm, d)?;
            self.load_layer_norm(&format!("{h}.ln_2"), &mut block.around_mlp.norm, d)?;
        }
        self.load_layer_norm("ln_f", &mut model.final_norm, d)?;
        Ok(model)
    }
}
// ANCHOR_END: load
