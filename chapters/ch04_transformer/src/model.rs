//! The encoder-decoder Transformer of "Attention Is All You Need", built from chapter 1's embeddings, chapter 3's
//! attention and this chapter's layers.

use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use common::config::{Checks, InvalidConfig};
use tokens::{InputEmbedding, InputEmbeddingConfig};

use crate::blocks::{Activation, DecoderLayer, EncoderLayer, LayerConfig, NormPosition};
use crate::data::Vocabulary;

// ANCHOR: config
/// Configuration of [`Transformer`]. The defaults are a small model that learns chapter 4's task on a CPU in
/// minutes; the paper's base model is `d_model = 512, n_heads = 8, d_ff = 2048`, 6 + 6 layers.
#[derive(Config, Debug)]
pub struct TransformerConfig {
    pub src_vocab_size: usize,
    pub tgt_vocab_size: usize,
    /// The longest source or target sequence, special tokens included.
    pub max_len: usize,
    #[config(default = 128)]
    pub d_model: usize,
    #[config(default = 4)]
    pub n_heads: usize,
    #[config(default = 512)]
    pub d_ff: usize,
    #[config(default = 3)]
    pub n_encoder_layers: usize,
    #[config(default = 3)]
    pub n_decoder_layers: usize,
    #[config(default = 0.1)]
    pub dropout: f64,
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
    #[config(default = "NormPosition::Pre")]
    pub norm_position: NormPosition,
}
// ANCHOR_END: config

/// The encoder-decoder Transformer: source tokens in, a distribution over the next target token out.
#[derive(Module, Debug)]
pub struct Transformer {
    pub src_embedding: InputEmbedding,
    pub tgt_embedding: InputEmbedding,
    pub encoder: Vec<EncoderLayer>,
    pub decoder: Vec<DecoderLayer>,
    /// Pre-LN stacks end with a norm (their residual stream is never normalised otherwise); post-LN ones do not.
    pub encoder_norm: Option<LayerNorm>,
    pub decoder_norm: Option<LayerNorm>,
    /// The output projection to the target vocabulary (the logits).
    pub generator: Linear,
}

impl TransformerConfig {
    /// The settings a Transformer can be built with: every count at least 1, heads that split d_model evenly,
    /// dropout a probability below 1.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        Checks::new("model configuration")
            .at_least("src_vocab_size", self.src_vocab_size, 1)
            .at_least("tgt_vocab_size", self.tgt_vocab_size, 1)
            .at_least("max_len", self.max_len, 1)
            .at_least("d_model", self.d_model, 1)
            .at_least("n_heads", self.n_heads, 1)
            .require(
                self.n_heads == 0 || self.d_model.is_multiple_of(self.n_heads),
                "d_model",
                self.d_model,
                &format!("a multiple of n_heads = {}", self.n_heads),
            )
            .at_least("d_ff", self.d_ff, 1)
            .at_least("n_encoder_layers", self.n_encoder_layers, 1)
            .at_least("n_decoder_layers", self.n_decoder_layers, 1)
            .in_range("dropout", self.dropout, 0.0, 1.0)
            .finish()
    }

    /// One encoder and one decoder layer, 32 wide, without dropout, for this chapter's task (number words to
    /// digits): small enough to train in seconds, for tests and quick experiments.
    pub fn tiny(norm_position: NormPosition) -> Self {
        TransformerConfig::new(Vocabulary::words().len(), Vocabulary::digits().len(), 16)
            .with_d_model(32)
            .with_n_heads(2)
            .with_d_ff(64)
            .with_n_encoder_layers(1)
            .with_n_decoder_layers(1)
            .with_dropout(0.0)
            .with_norm_position(norm_position)
    }

    pub fn init(&self, device: &Device) -> Transformer {
        let layer = LayerConfig::new(self.d_model, self.n_heads, self.d_ff)
            .with_dropout(self.dropout)
            .with_activation(self.activation)
            .with_norm_position(self.norm_position);
        let embedding = |vocab| {
            InputEmbeddingConfig::new(vocab, self.d_model, self.max_len)
                .with_learned_positions(false)
                .init(device)
        };
        let final_norm =
            || (self.norm_position == NormPosition::Pre).then(|| LayerNormConfig::new(self.d_model).init(device));
        Transformer {
            src_embedding: embedding(self.src_vocab_size),
            tgt_embedding: embedding(self.tgt_vocab_size),
            encoder: (0..self.n_encoder_layers)
                .map(|_| layer.init_encoder_layer(device))
                .collect(),
            decoder: (0..self.n_decoder_layers)
                .map(|_| layer.init_decoder_layer(device))
                .collect(),
            encoder_norm: final_norm(),
            decoder_norm: final_norm(),
            generator: LinearConfig::new(self.d_model, self.tgt_vocab_size).init(device),
        }
    }
}

// ANCHOR: forward
impl Transformer {
    /// The encoder: source ids `[batch, t_src]` to the memory `[batch, t_src, d_model]`.
    pub fn encode(&self, src: Tensor<2, Int>, src_padding: Option<Tensor<2, Bool>>) -> Tensor<3> {
        let mut x = self.src_embedding.forward(src);
        for layer in &self.encoder {
            x = layer.forward(x, src_padding.clone());
        }
        match &self.encoder_norm {
            Some(norm) => norm.forward(x),
            None => x,
        }
    }

    /// The decoder: target ids so far `[batch, t_tgt]` and the memory to logits `[batch, t_tgt, tgt_vocab]`; the
    /// logits at position i score the target token at i + 1.
    pub fn decode(
        &self,
        tgt: Tensor<2, Int>,
        memory: Tensor<3>,
        tgt_padding: Option<Tensor<2, Bool>>,
        src_padding: Option<Tensor<2, Bool>>,
    ) -> Tensor<3> {
        self.decode_with_attention(tgt, memory, tgt_padding, src_padding).0
    }

    /// [`decode`](Self::decode), also returning every decoder layer's cross-attention weights
    /// `[batch, heads, t_tgt, t_src]`, for plots.
    pub fn decode_with_attention(
        &self,
        tgt: Tensor<2, Int>,
        memory: Tensor<3>,
        tgt_padding: Option<Tensor<2, Bool>>,
        src_padding: Option<Tensor<2, Bool>>,
    ) -> (Tensor<3>, Vec<Tensor<4>>) {
        let mut y = self.tgt_embedding.forward(tgt);
        let mut cross_attention = Vec::with_capacity(self.decoder.len());
        for layer in &self.decoder {
            let (out, weights) = layer.forward(y, memory.clone(), tgt_padding.clone(), src_padding.clone());
            y = out;
            cross_attention.push(weights);
        }
        let y = match &self.decoder_norm {
            Some(norm) => norm.forward(y),
            None => y,
        };
        (self.generator.forward(y), cross_attention)
    }

    /// Teacher forcing: the whole target (shifted right, starting with BOS) goes in at once, and the causal masks
    /// make position i's logits depend on the target tokens before i + 1 only.
    pub fn forward(&self, batch: &crate::data::Batch) -> Tensor<3> {
        let memory = self.encode(batch.src.clone(), Some(batch.src_padding.clone()));
        self.decode(
            batch.tgt_in.clone(),
            memory,
            Some(batch.tgt_padding.clone()),
            Some(batch.src_padding.clone()),
        )
    }
}
// ANCHOR_END: forward
