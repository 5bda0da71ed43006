//! The pieces every Transformer layer is made of: the position-wise feed-forward network, and the residual
//! connection around each sublayer with its layer norm (after it, as in the paper, or before it, as in GPT-2).

use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{gelu, gelu_approximate, relu};
use multi_head::{MultiHeadAttention, MultiHeadAttentionConfig, position_wise};

// ANCHOR: feed_forward
/// The non-linearity of the feed-forward network.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum Activation {
    /// max(0, x), the original Transformer's.
    Relu,
    /// x·Φ(x), GPT's and BERT's: smooth, and not exactly zero for negative inputs.
    Gelu,
    /// ½x·(1 + tanh(√(2/π)·(x + 0.044715x³))), the approximation OpenAI's GPT-2 was trained with
    /// (Hugging Face's `gelu_new`), within 5 · 10⁻⁴ of the exact GELU.
    GeluTanh,
}

impl Activation {
    /// The function, element by element.
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Relu => relu(x),
            Activation::Gelu => gelu(x),
            Activation::GeluTanh => gelu_approximate(x),
        }
    }
}

/// Configuration of [`FeedForward`].
#[derive(Config, Debug)]
pub struct FeedForwardConfig {
    pub d_model: usize,
    /// Width of the hidden layer; the paper uses 4 d_model.
    pub d_ff: usize,
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
    #[config(default = 0.1)]
    pub dropout: f64,
}

/// FFN(x) = max(0, xW_1 + b_1) W_2 + b_2, applied to every position on its own: attention mixes
/// information *between* positions, this network transforms it *within* each one.
#[derive(Module, Debug)]
pub struct FeedForward {
    pub linear_1: Linear,
    pub linear_2: Linear,
    pub dropout: Dropout,
    #[module(skip)]
    pub activation: Activation,
}

impl FeedForwardConfig {
    pub fn init(&self, device: &Device) -> FeedForward {
        FeedForward {
            linear_1: LinearConfig::new(self.d_model, self.d_ff).init(device),
            linear_2: LinearConfig::new(self.d_ff, self.d_model).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            activation: self.activation,
        }
    }
}

impl FeedForward {
    /// `[batch, t, d_model]` to `[batch, t, d_model]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.forward_with(x, |hidden| self.activation.apply(hidden))
    }

    /// The same network with the activation computed by `activation`: another implementation of the same
    /// function (chapter 5 passes a faster GELU).
    pub fn forward_with(&self, x: Tensor<3>, activation: impl FnOnce(Tensor<3>) -> Tensor<3>) -> Tensor<3> {
        let hidden = activation(position_wise(&self.linear_1, x));
        position_wise(&self.linear_2, self.dropout.forward(hidden))
    }
}
// ANCHOR_END: feed_forward

// ANCHOR: residual
/// Where the layer norm sits around a sublayer F (attention or the feed-forward network).
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum NormPosition {
    /// LayerNorm(x + F(x)): the paper's arrangement. Every layer's output is normalised, so the
    /// residual path is re-scaled at each layer and gradients to early layers pass through N norms.
    Post,
    /// x + F(LayerNorm(x)): GPT-2's. The residual path from input to output is a plain sum, so
    /// gradients reach early layers undisturbed; deep stacks train without a careful warm-up.
    Pre,
}

/// A residual connection with its layer norm and dropout, wrapped around any sublayer.
#[derive(Module, Debug)]
pub struct Residual {
    pub norm: LayerNorm,
    pub dropout: Dropout,
    #[module(skip)]
    pub position: NormPosition,
}

impl Residual {
    /// `eps` is the layer norm's ε in γ ⊙ (x - μ) / √(σ² + ε) + β: burn's and
    /// PyTorch's default 10⁻⁵, BERT's 10⁻¹².
    pub fn new(d_model: usize, dropout: f64, position: NormPosition, eps: f64, device: &Device) -> Self {
        Self {
            norm: LayerNormConfig::new(d_model).with_epsilon(eps).init(device),
            dropout: DropoutConfig::new(dropout).init(),
            position,
        }
    }

    /// x + Dropout(F(·)) with the norm before F (pre) or after the sum (post).
    pub fn forward(&self, x: Tensor<3>, sublayer: impl FnOnce(Tensor<3>) -> Tensor<3>) -> Tensor<3> {
        match self.position {
            NormPosition::Post => self.norm.forward(x.clone() + self.dropout.forward(sublayer(x))),
            NormPosition::Pre => x.clone() + self.dropout.forward(sublayer(self.norm.forward(x))),
        }
    }
}
// ANCHOR_END: residual

/// What every layer of a stack shares: its width, heads, feed-forward network, dropout and norm position.
#[derive(Config, Debug)]
pub struct LayerConfig {
    pub d_model: usize,
    pub n_heads: usize,
    pub d_ff: usize,
    #[config(default = 0.1)]
    pub dropout: f64,
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
    #[config(default = "NormPosition::Pre")]
    pub norm_position: NormPosition,
    /// The layer norms' ε (BERT: 10⁻¹²).
    #[config(default = 1e-5)]
    pub layer_norm_eps: f64,
    /// Dropout on the attention weights (BERT's `attention_probs_dropout_prob`).
    #[config(default = 0.0)]
    pub attention_dropout: f64,
}

impl LayerConfig {
    fn attention(&self, device: &Device) -> MultiHeadAttention {
        MultiHeadAttentionConfig::new(self.d_model, self.n_heads)
            .with_dropout(self.attention_dropout)
            .init(device)
    }

    fn feed_forward(&self, device: &Device) -> FeedForward {
        FeedForwardConfig::new(self.d_model, self.d_ff)
            .with_activation(self.activation)
            .with_dropout(self.dropout)
            .init(device)
    }

    fn residual(&self, device: &Device) -> Residual {
        Residual::new(
            self.d_model,
            self.dropout,
            self.norm_position,
            self.layer_norm_eps,
            device,
        )
    }

    pub fn init_encoder_layer(&self, device: &Device) -> EncoderLayer {
        EncoderLayer {
            self_attention: self.attention(device),
            feed_forward: self.feed_forward(device),
            around_attention: self.residual(device),
            around_feed_forward: self.residual(device),
        }
    }

    pub fn init_decoder_layer(&self, device: &Device) -> DecoderLayer {
        DecoderLayer {
            self_attention: self.attention(device),
            cross_attention: self.attention(device),
            feed_forward: self.feed_forward(device),
            around_self_attention: self.residual(device),
            around_cross_attention: self.residual(device),
            around_feed_forward: self.residual(device),
        }
    }
}

// ANCHOR: encoder_layer
/// One encoder layer: every source position attends to every (non-padding) source position, then the
/// feed-forward network transforms each position.
#[derive(Module, Debug)]
pub struct EncoderLayer {
    pub self_attention: MultiHeadAttention,
    pub feed_forward: FeedForward,
    pub around_attention: Residual,
    pub around_feed_forward: Residual,
}

impl EncoderLayer {
    /// `x: [batch, t_src, d_model]`; `src_padding: [batch, t_src]`, true at real tokens.
    pub fn forward(&self, x: Tensor<3>, src_padding: Option<Tensor<2, Bool>>) -> Tensor<3> {
        let x = self
            .around_attention
            .forward(x, |x| self.self_attention.self_attention(x, false, src_padding).output);
        self.around_feed_forward.forward(x, |x| self.feed_forward.forward(x))
    }
}
// ANCHOR_END: encoder_layer

// ANCHOR: decoder_layer
/// One decoder layer: masked self-attention over the target so far, cross-attention from each target position to
/// the encoder's output (the *memory*), then the feed-forward network.
#[derive(Module, Debug)]
pub struct DecoderLayer {
    pub self_attention: MultiHeadAttention,
    pub cross_attention: MultiHeadAttention,
    pub feed_forward: FeedForward,
    pub around_self_attention: Residual,
    pub around_cross_attention: Residual,
    pub around_feed_forward: Residual,
}

impl DecoderLayer {
    /// `y: [batch, t_tgt, d_model]`, `memory: [batch, t_src, d_model]`; the paddings are true at real tokens.
    /// Returns the layer's output and its cross-attention weights `[batch, heads, t_tgt, t_src]` (which source
    /// tokens each target position read).
    pub fn forward(
        &self,
        y: Tensor<3>,
        memory: Tensor<3>,
        tgt_padding: Option<Tensor<2, Bool>>,
        src_padding: Option<Tensor<2, Bool>>,
    ) -> (Tensor<3>, Tensor<4>) {
        let [batch, t_tgt, _] = y.dims();
        let t_src = memory.dims()[1];
        // Causal: target position i must not see the target tokens after it, which it is trained to predict.
        let y = self
            .around_self_attention
            .forward(y, |y| self.self_attention.self_attention(y, true, tgt_padding).output);
        // Every target position may look at every real source token.
        let allowed = src_padding.map(|keys| keys.unsqueeze_dim::<3>(1).expand([batch, t_tgt, t_src]));
        let mut cross_weights = None;
        let y = self.around_cross_attention.forward(y, |y| {
            let attended = self.cross_attention.forward(y, memory.clone(), memory, allowed);
            cross_weights = Some(attended.weights);
            attended.output
        });
        let y = self.around_feed_forward.forward(y, |y| self.feed_forward.forward(y));
        (y, cross_weights.expect("the cross-attention ran"))
    }
}
// ANCHOR_END: decoder_layer
