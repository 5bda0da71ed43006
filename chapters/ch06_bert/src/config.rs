//! What a BERT is made of, under the names of the Hugging Face `config.json`, so that a pretrained model's file
//! reads straight into it.

use common::config::{Checks, InvalidConfig};
use serde::{Deserialize, Serialize};
use transformer::Activation;

// ANCHOR: config
/// The shape of a BERT. Field names are those of Hugging Face's `BertConfig`; a field a `config.json` leaves out
/// takes BERT-base's value, and fields this model does not use (`architectures`, `initializer_range`, ...) are
/// ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    /// V: token ids run from 0 to V - 1.
    pub vocab_size: usize,
    /// d, the width of every position's vector.
    #[serde(default = "defaults::hidden_size")]
    pub hidden_size: usize,
    /// L, the number of encoder layers.
    #[serde(default = "defaults::num_hidden_layers")]
    pub num_hidden_layers: usize,
    /// h; each head has width d / h.
    #[serde(default = "defaults::num_attention_heads")]
    pub num_attention_heads: usize,
    /// The feed-forward network's hidden width, 4d in BERT.
    #[serde(default = "defaults::intermediate_size")]
    pub intermediate_size: usize,
    /// T_max: the longest input, counting `[CLS]` and `[SEP]`.
    #[serde(default = "defaults::max_position_embeddings")]
    pub max_position_embeddings: usize,
    /// Number of segments (token types): 2, sentence A and sentence B.
    #[serde(default = "defaults::type_vocab_size")]
    pub type_vocab_size: usize,
    /// The layer norms' ε: 10⁻¹² in BERT (PyTorch's default is 10⁻⁵).
    #[serde(default = "defaults::layer_norm_eps")]
    pub layer_norm_eps: f64,
    /// The feed-forward non-linearity: `"gelu"` (exact, with erf) or `"relu"`.
    #[serde(default = "defaults::hidden_act")]
    pub hidden_act: String,
    /// Dropout on the embeddings and on each sublayer's output while training.
    #[serde(default = "defaults::dropout")]
    pub hidden_dropout_prob: f64,
    /// Dropout on the attention weights while training.
    #[serde(default = "defaults::dropout")]
    pub attention_probs_dropout_prob: f64,
    /// The id of `[PAD]`.
    #[serde(default)]
    pub pad_token_id: usize,
}
// ANCHOR_END: config

mod defaults {
    pub fn hidden_size() -> usize {
        768
    }
    pub fn num_hidden_layers() -> usize {
        12
    }
    pub fn num_attention_heads() -> usize {
        12
    }
    pub fn intermediate_size() -> usize {
        3072
    }
    pub fn max_position_embeddings() -> usize {
        512
    }
    pub fn type_vocab_size() -> usize {
        2
    }
    pub fn layer_norm_eps() -> f64 {
        1e-12
    }
    pub fn hidden_act() -> String {
        "gelu".into()
    }
    pub fn dropout() -> f64 {
        0.1
    }
}

/// The longest context a configuration may ask for (BERT's is 512; long-context encoders reach 8,192).
pub const MAX_CONTEXT: usize = 8192;

impl BertConfig {
    /// A BERT of width `hidden_size` with `layers` layers of `heads` heads, BERT's ratios otherwise
    /// (feed-forward 4d, two segments, ε = 10⁻¹², dropout 0.1, exact GELU).
    pub fn new(vocab_size: usize, hidden_size: usize, layers: usize, heads: usize, max_len: usize) -> Self {
        Self {
            vocab_size,
            hidden_size,
            num_hidden_layers: layers,
            num_attention_heads: heads,
            intermediate_size: 4 * hidden_size,
            max_position_embeddings: max_len,
            type_vocab_size: defaults::type_vocab_size(),
            layer_norm_eps: defaults::layer_norm_eps(),
            hidden_act: defaults::hidden_act(),
            hidden_dropout_prob: defaults::dropout(),
            attention_probs_dropout_prob: defaults::dropout(),
            pad_token_id: 0,
        }
    }

    /// The same with both dropouts set to `p` (0 for inference and for tests that compare numbers).
    pub fn with_dropout(mut self, p: f64) -> Self {
        self.hidden_dropout_prob = p;
        self.attention_probs_dropout_prob = p;
        self
    }

    /// `hidden_act` as chapter 4's [`Activation`]. Hugging Face's `"gelu"` is the exact x·Φ(x), its
    /// `"gelu_new"` the tanh approximation; others are not implemented here, and say so.
    pub fn activation(&self) -> Result<Activation, InvalidConfig> {
        match self.hidden_act.as_str() {
            "gelu" => Ok(Activation::Gelu),
            "gelu_new" => Ok(Activation::GeluTanh),
            "relu" => Ok(Activation::Relu),
            other => Err(InvalidConfig {
                what: "BERT configuration".into(),
                problems: vec![format!(
                    "hidden_act = \"{other}\" (this chapter's BERT implements \"gelu\", the exact erf GELU, \"gelu_new\", its tanh approximation, and \"relu\")"
                )],
            }),
        }
    }

    /// Every field in its range, named with the rule it breaks.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        let heads = self.num_attention_heads.max(1);
        Checks::new("BERT configuration")
            .at_least("vocab_size", self.vocab_size, 1)
            .at_least("hidden_size", self.hidden_size, 1)
            .at_least("num_hidden_layers", self.num_hidden_layers, 1)
            .at_least("num_attention_heads", self.num_attention_heads, 1)
            .require(
                self.hidden_size.is_multiple_of(heads),
                "hidden_size",
                self.hidden_size,
                &format!("a multiple of num_attention_heads = {}", self.num_attention_heads),
            )
            .at_least("intermediate_size", self.intermediate_size, 1)
            .at_least("max_position_embeddings", self.max_position_embeddings, 1)
            .require(
                self.max_position_embeddings <= MAX_CONTEXT,
                "max_position_embeddings",
                self.max_position_embeddings,
                &format!("at most {MAX_CONTEXT}: attention's memory grows with its square"),
            )
            .at_least("type_vocab_size", self.type_vocab_size, 1)
            .positive("layer_norm_eps", self.layer_norm_eps)
            .in_range("hidden_dropout_prob", self.hidden_dropout_prob, 0.0, 1.0)
            .in_range(
                "attention_probs_dropout_prob",
                self.attention_probs_dropout_prob,
                0.0,
                1.0,
            )
            .require(
                self.pad_token_id < self.vocab_size,
                "pad_token_id",
                self.pad_token_id,
                &format!("below vocab_size = {}", self.vocab_size),
            )
            .finish()?;
        self.activation().map(|_| ())
    }

    /// The encoder's parameters in closed form. Embeddings: (V + T_max + S) d and a layer norm 2d. Each
    /// layer: 4(d² + d) for W^Q, W^K, W^V, W^O with biases, 2·d·d_ff + d_ff + d for the feed-forward
    /// network, 2 · 2d for its two layer norms.
    pub fn num_encoder_params(&self) -> usize {
        let (v, t, s, d) = (
            self.vocab_size,
            self.max_position_embeddings,
            self.type_vocab_size,
            self.hidden_size,
        );
        (v + t + s) * d + 2 * d + self.num_hidden_layers * self.num_layer_params()
    }

    /// One encoder layer's parameters: 4(d² + d) + 2·d·d_ff + d_ff + d + 4d.
    pub fn num_layer_params(&self) -> usize {
        let (d, f) = (self.hidden_size, self.intermediate_size);
        4 * (d * d + d) + 2 * d * f + f + d + 4 * d
    }

    /// The masked-LM head's own parameters: the transform (dense d² + d, layer norm 2d) and the output bias
    /// V. Its decoder matrix is the token embedding, counted in the encoder.
    pub fn num_mlm_head_params(&self) -> usize {
        let d = self.hidden_size;
        d * d + d + 2 * d + self.vocab_size
    }
}
