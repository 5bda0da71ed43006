//! A Hugging Face GPT-2 `config.json`, under its own names, and the chapter 5 configuration it becomes.

use std::path::Path;

use common::config::read_json;
use gpt::GptConfig;
use serde::Deserialize;
use transformer::Activation;

use crate::Gpt2Error;

// ANCHOR: config
/// The fields of Hugging Face's `GPT2Config` this model reads; a field the file leaves out takes GPT-2 124M's
/// value, and the fields for training only (`resid_pdrop`, `initializer_range`, ...) are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Gpt2Config {
    /// V: 50,257 for GPT-2 (50,000 merges, 256 bytes, `<|endoftext|>`).
    #[serde(default = "defaults::vocab_size")]
    pub vocab_size: usize,
    /// T, the context: 1,024 learned positions.
    #[serde(default = "defaults::n_positions")]
    pub n_positions: usize,
    /// d: 768, 1,024, 1,280, 1,600 for small, medium, large, xl.
    #[serde(default = "defaults::n_embd")]
    pub n_embd: usize,
    #[serde(default = "defaults::n_layer")]
    pub n_layer: usize,
    #[serde(default = "defaults::n_head")]
    pub n_head: usize,
    /// The MLP's hidden width; `null` means 4d, the only width chapter 5's block has.
    #[serde(default)]
    pub n_inner: Option<usize>,
    /// `gelu_new` (the tanh approximation GPT-2 was trained with) or `gelu` (exact).
    #[serde(default = "defaults::activation_function")]
    pub activation_function: String,
    #[serde(default = "defaults::layer_norm_epsilon")]
    pub layer_norm_epsilon: f64,
    /// Scales each layer's attention scores by 1/(ℓ+1) too; GPT-2 does not.
    #[serde(default)]
    pub scale_attn_by_inverse_layer_idx: bool,
    /// The head reuses the token embedding; every GPT-2 does.
    #[serde(default = "defaults::yes")]
    pub tie_word_embeddings: bool,
}
// ANCHOR_END: config

mod defaults {
    pub fn vocab_size() -> usize {
        50257
    }
    pub fn n_positions() -> usize {
        1024
    }
    pub fn n_embd() -> usize {
        768
    }
    pub fn n_layer() -> usize {
        12
    }
    pub fn n_head() -> usize {
        12
    }
    pub fn activation_function() -> String {
        "gelu_new".into()
    }
    pub fn layer_norm_epsilon() -> f64 {
        1e-5
    }
    pub fn yes() -> bool {
        true
    }
}

/// GPT-2 124M's configuration: every field at its default, as in a `config.json` of `{}`.
impl Default for Gpt2Config {
    fn default() -> Self {
        Self {
            vocab_size: defaults::vocab_size(),
            n_positions: defaults::n_positions(),
            n_embd: defaults::n_embd(),
            n_layer: defaults::n_layer(),
            n_head: defaults::n_head(),
            n_inner: None,
            activation_function: defaults::activation_function(),
            layer_norm_epsilon: defaults::layer_norm_epsilon(),
            scale_attn_by_inverse_layer_idx: false,
            tie_word_embeddings: true,
        }
    }
}

impl Gpt2Config {
    /// The configuration in `folder/config.json`.
    pub fn from_folder(folder: &Path) -> Result<Self, Gpt2Error> {
        common::hub::check_model_type(folder, &["gpt2"])?;
        Ok(read_json(&folder.join("config.json"), "GPT-2 configuration")?)
    }

    // ANCHOR: to_gpt
    /// Chapter 5's configuration of the same model: biases on, GPT-2's activation and epsilon, no dropout
    /// (inference). A GPT-2 variant chapter 5's block cannot express is an error saying what differs.
    pub fn to_gpt(&self) -> Result<GptConfig, Gpt2Error> {
        let unsupported = |what: String| Gpt2Error::UnsupportedConfig { what };
        let activation = match self.activation_function.as_str() {
            "gelu_new" | "gelu_pytorch_tanh" => Activation::GeluTanh,
            "gelu" => Activation::Gelu,
            other => return Err(unsupported(format!("activation_function {other:?} (gelu_new or gelu)"))),
        };
        if let Some(n_inner) = self.n_inner.filter(|&n| n != 4 * self.n_embd) {
            return Err(unsupported(format!(
                "n_inner {n_inner} (the MLP is 4 x n_embd = {})",
                4 * self.n_embd
            )));
        }
        if self.scale_attn_by_inverse_layer_idx {
            return Err(unsupported("scale_attn_by_inverse_layer_idx".into()));
        }
        if !self.tie_word_embeddings {
            return Err(unsupported(
                "tie_word_embeddings false (the head is the token embedding)".into(),
            ));
        }
        if self.n_head == 0 || !self.n_embd.is_multiple_of(self.n_head) {
            return Err(unsupported(format!("n_embd {} in {} heads", self.n_embd, self.n_head)));
        }
        Ok(GptConfig::new(self.vocab_size)
            .with_block_size(self.n_positions)
            .with_n_layer(self.n_layer)
            .with_n_head(self.n_head)
            .with_n_embd(self.n_embd)
            .with_bias(true)
            .with_activation(activation)
            .with_layer_norm_eps(self.layer_norm_epsilon))
    }
    // ANCHOR_END: to_gpt
}
