//! BERT (Devlin et al., 2019): chapter 1's embeddings plus a segment embedding, chapter 4's encoder layers in the
//! paper's post-LN arrangement, and the two heads of pretraining: the masked-LM head, whose decoder is the token
//! embedding, and the pooler on `[CLS]`.

use burn::module::Param;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::tanh;
use common::init::NormalInit;
use tokens::embedding::{InputEmbedding, InputEmbeddingConfig};
use transformer::{Activation, EncoderLayer, LayerConfig, NormPosition};

use crate::config::BertConfig;

// ANCHOR: embeddings
/// BERT's input layer: x_t = LayerNorm(E[token_t] + P_t + S[segment_t]), then
/// dropout. The segment embedding S tells sentence A from sentence B in a pair.
#[derive(Module, Debug)]
pub struct BertEmbeddings {
    /// Chapter 1's token + learned position embedding.
    pub input: InputEmbedding,
    pub segment: Embedding,
    pub norm: LayerNorm,
    pub dropout: Dropout,
}

impl BertEmbeddings {
    /// Token ids `[batch, t]` and their segments (0 or 1; all 0 when `None`) to `[batch, t, d]`.
    pub fn forward(&self, tokens: Tensor<2, Int>, segments: Option<Tensor<2, Int>>) -> Tensor<3> {
        let segments = segments.unwrap_or_else(|| tokens.zeros_like());
        let x = self.input.forward(tokens) + self.segment.forward(segments);
        self.dropout.forward(self.norm.forward(x))
    }
}
// ANCHOR_END: embeddings

// ANCHOR: bert
/// The encoder: embeddings, then L post-LN layers, each
/// x ← LN(x + MHA(x)), x ← LN(x + FFN(x)), with every
/// position attending to every real position on both sides: no causal mask.
#[derive(Module, Debug)]
pub struct Bert {
    pub embeddings: BertEmbeddings,
    pub layers: Vec<EncoderLayer>,
    /// tanh(h_{[CLS]} W_p + b_p), the sentence vector of next-sentence prediction and of classifiers built on
    /// BERT; a pretrained folder without one (`BertForMaskedLM` saves none) loads without it.
    pub pooler: Option<Linear>,
}

impl Bert {
    /// Hidden states `[batch, t, d]` of `tokens` `[batch, t]`. `padding` `[batch, t]` is true at real tokens
    /// (chapter 2's key-padding mask): no position attends to padding, so padding never changes a real
    /// position's output.
    pub fn forward(
        &self,
        tokens: Tensor<2, Int>,
        segments: Option<Tensor<2, Int>>,
        padding: Option<Tensor<2, Bool>>,
    ) -> Tensor<3> {
        let mut x = self.embeddings.forward(tokens, segments);
        for layer in &self.layers {
            x = layer.forward(x, padding.clone());
        }
        x
    }

    /// The pooler's output `[batch, d]` from hidden states `[batch, t, d]`.
    ///
    /// # Panics
    /// If the model has no pooler (see [`Bert::pooler`]).
    pub fn pooled(&self, hidden: Tensor<3>) -> Tensor<2> {
        let pooler = self.pooler.as_ref().expect("this BERT was built without a pooler");
        let [batch, _, d] = hidden.dims();
        tanh(pooler.forward(hidden.slice([0..batch, 0..1]).reshape([batch, d])))
    }

    /// Each layer's attention weights `[batch, heads, t, t]` for `tokens`, first layer first: which positions
    /// each position read.
    pub fn attention_maps(&self, tokens: Tensor<2, Int>, padding: Option<Tensor<2, Bool>>) -> Vec<Tensor<4>> {
        let mut x = self.embeddings.forward(tokens, None);
        let mut maps = Vec::new();
        for layer in &self.layers {
            maps.push(
                layer
                    .self_attention
                    .self_attention(x.clone(), false, padding.clone())
                    .weights,
            );
            x = layer.forward(x, padding.clone());
        }
        maps
    }

    pub fn vocab_size(&self) -> usize {
        self.embeddings.input.token.weight.dims()[0]
    }
}

/// The key-padding mask of `tokens`: true where the token is not `pad_id`.
pub fn padding_mask(tokens: &Tensor<2, Int>, pad_id: usize) -> Tensor<2, Bool> {
    tokens.clone().not_equal_elem(pad_id as i64)
}

/// Mean pooling, sentence-transformers' sentence vector: 1/n Σ_t h_t over the n real
/// (non-padding) positions of each row of `hidden` `[batch, t, d]`, to `[batch, d]`.
pub fn mean_pool(hidden: Tensor<3>, padding: Tensor<2, Bool>) -> Tensor<2> {
    let real = padding.float().unsqueeze_dim::<3>(2); // [batch, t, 1]
    let sum = (hidden * real.clone()).sum_dim(1).squeeze_dim::<2>(1);
    sum / real.sum_dim(1).squeeze_dim::<2>(1).clamp_min(1e-9)
}
// ANCHOR_END: bert

// ANCHOR: mlm_head
/// The masked-LM head: a transform u = LN(GELU(h W_t + b_t)), then logits
/// u Eᵀ + b with E the token embedding (tied: the same matrix reads tokens in and writes them out).
#[derive(Module, Debug)]
pub struct MlmHead {
    pub transform: Linear,
    pub norm: LayerNorm,
    /// b, one bias per vocabulary entry.
    pub bias: Param<Tensor<1>>,
    #[module(skip)]
    pub activation: Activation,
}

impl MlmHead {
    /// Logits `[n, V]` of hidden states `[n, d]`, with `embedding` E `[V, d]`.
    pub fn forward(&self, hidden: Tensor<2>, embedding: Tensor<2>) -> Tensor<2> {
        let h = self.transform.forward(hidden);
        let h = self.activation.apply(h);
        self.norm.forward(h).matmul(embedding.transpose()) + self.bias.val().unsqueeze()
    }
}

/// BERT with its masked-LM head: what pretraining trains and what `fill` asks.
#[derive(Module, Debug)]
pub struct BertForMaskedLm {
    pub bert: Bert,
    pub mlm: MlmHead,
}

impl BertForMaskedLm {
    /// Logits `[batch, t, V]` at every position.
    pub fn forward(&self, tokens: Tensor<2, Int>, padding: Option<Tensor<2, Bool>>) -> Tensor<3> {
        let hidden = self.bert.forward(tokens, None, padding);
        let [batch, t, d] = hidden.dims();
        let logits = self.mlm_logits(hidden.reshape([batch * t, d]));
        logits.reshape([batch, t, self.bert.vocab_size()])
    }

    /// Logits `[n, V]` at the `n` positions `at` of the flattened batch (row b · t + i is position i of
    /// sequence b): pretraining scores the chosen positions only, which saves the head's V × d product at
    /// the other 85%.
    pub fn forward_at(
        &self,
        tokens: Tensor<2, Int>,
        padding: Option<Tensor<2, Bool>>,
        at: Tensor<1, Int>,
    ) -> Tensor<2> {
        let hidden = self.bert.forward(tokens, None, padding);
        let [batch, t, d] = hidden.dims();
        self.mlm_logits(hidden.reshape([batch * t, d]).select(0, at))
    }

    fn mlm_logits(&self, hidden: Tensor<2>) -> Tensor<2> {
        self.mlm.forward(hidden, self.bert.embeddings.input.token.weight.val())
    }
}
// ANCHOR_END: mlm_head

// ANCHOR: init
impl BertConfig {
    /// Chapter 4's encoder layer in BERT's arrangement: post-LN, this configuration's activation, ε
    /// and dropouts.
    fn layer(&self) -> LayerConfig {
        LayerConfig::new(self.hidden_size, self.num_attention_heads, self.intermediate_size)
            .with_activation(
                self.activation()
                    .expect("a validated configuration has a known hidden_act"),
            )
            .with_norm_position(NormPosition::Post)
            .with_layer_norm_eps(self.layer_norm_eps)
            .with_dropout(self.hidden_dropout_prob)
            .with_attention_dropout(self.attention_probs_dropout_prob)
    }

    /// A layer norm over the hidden width, with the configuration's ε.
    pub fn norm(&self, device: &Device) -> LayerNorm {
        LayerNormConfig::new(self.hidden_size)
            .with_epsilon(self.layer_norm_eps)
            .init(device)
    }

    /// A fresh encoder (with a pooler if `pooler`) initialised as BERT is: weight matrices and embeddings
    /// ~ 𝒩(0, 0.02²), biases 0, layer norms γ = 1, β = 0.
    ///
    /// # Panics
    /// If the configuration is invalid: check one read from a file with [`BertConfig::validate`] first.
    pub fn init(&self, pooler: bool, device: &Device) -> Bert {
        if let Err(invalid) = self.validate() {
            panic!("BertConfig::init: {invalid}");
        }
        let d = self.hidden_size;
        let layer = self.layer();
        let bert = Bert {
            embeddings: BertEmbeddings {
                input: InputEmbeddingConfig::new(self.vocab_size, d, self.max_position_embeddings).init(device),
                segment: EmbeddingConfig::new(self.type_vocab_size, d).init(device),
                norm: self.norm(device),
                dropout: DropoutConfig::new(self.hidden_dropout_prob).init(),
            },
            layers: (0..self.num_hidden_layers)
                .map(|_| layer.init_encoder_layer(device))
                .collect(),
            pooler: pooler.then(|| LinearConfig::new(d, d).init(device)),
        };
        bert.map(&mut NormalInit::new(0.02))
    }

    /// A fresh [`BertForMaskedLm`] (no pooler), initialised as [`BertConfig::init`].
    pub fn init_masked_lm(&self, device: &Device) -> BertForMaskedLm {
        let mlm = MlmHead {
            transform: LinearConfig::new(self.hidden_size, self.hidden_size).init(device),
            norm: self.norm(device),
            bias: Param::from_tensor(Tensor::zeros([self.vocab_size], device)),
            activation: self.activation().expect("init validated the configuration"),
        };
        BertForMaskedLm {
            bert: self.init(false, device),
            mlm: mlm.map(&mut NormalInit::new(0.02)),
        }
    }
}

// ANCHOR_END: init
