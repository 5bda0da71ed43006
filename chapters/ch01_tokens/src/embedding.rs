//! From token ids to vectors: token embeddings plus positional information.
//!
//! A token embedding is a learned table E ∈ ℝ^(V × d): token id i becomes row E_i.
//! Attention (chapter 2) treats its input as a *set*: permute the tokens and the outputs permute the same way. Word
//! order has to be written into the vectors themselves, by adding a position vector P_t to the token vector at
//! position t:
//!
//! x_t = E[token_t] + P_t.
//!
//! Two choices for P are built here: the fixed sinusoids of "Attention Is All You Need" and a learned table
//! (GPT-2, BERT).

use burn::nn::{Embedding, EmbeddingConfig};
use burn::prelude::*;

// ANCHOR: sinusoidal
/// The sinusoidal positional encoding of Vaswani et al. (2017), a `[seq_len, d_model]` tensor:
///
/// PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(pos / 10000^(2i/d)).
///
/// Each (sin, cos) pair of columns is a clock turning at its own frequency ω_i = 10000^(-2i/d), from one
/// radian per position down to one turn per 2π · 10000 positions.
pub fn sinusoidal_positional_encoding(seq_len: usize, d_model: usize, device: &Device) -> Tensor<2> {
    assert!(
        d_model.is_multiple_of(2),
        "the sinusoidal encoding pairs sin and cos columns: d_model must be even, got {d_model}"
    );
    let pos = Tensor::<1, Int>::arange(0..seq_len as i64, device)
        .float()
        .reshape([seq_len, 1]);
    let two_i = Tensor::<1, Int>::arange_step(0..d_model as i64, 2, device)
        .float()
        .reshape([1, d_model / 2]);
    // ω_i = 10000^(-2i/d) = exp(-(2i/d) ln 10000), computed in log space to stay accurate for large i.
    let omega = two_i.mul_scalar(-(10_000f64.ln()) / d_model as f64).exp();
    let angle = pos.matmul(omega); // [seq_len, d/2]: pos · ω_i, an outer product
    // Interleave: column 2i is sin, column 2i+1 is cos.
    Tensor::stack::<3>(vec![angle.clone().sin(), angle.cos()], 2).reshape([seq_len, d_model])
}
// ANCHOR_END: sinusoidal

// ANCHOR: learned
/// Configuration of [`LearnedPositionalEmbedding`].
#[derive(Config, Debug)]
pub struct LearnedPositionalEmbeddingConfig {
    /// The longest sequence it can encode (GPT's `block_size`).
    pub max_seq_len: usize,
    pub d_model: usize,
}

/// A learned position vector P_t for each position t < `max_seq_len`, as in GPT-2 and BERT. More flexible than
/// sinusoids, but it knows nothing about positions it never saw in training.
#[derive(Module, Debug)]
pub struct LearnedPositionalEmbedding {
    pub table: Embedding,
}

impl LearnedPositionalEmbeddingConfig {
    pub fn init(&self, device: &Device) -> LearnedPositionalEmbedding {
        LearnedPositionalEmbedding {
            table: EmbeddingConfig::new(self.max_seq_len, self.d_model).init(device),
        }
    }
}

impl LearnedPositionalEmbedding {
    /// The longest sequence it has a position vector for.
    pub fn max_seq_len(&self) -> usize {
        self.table.weight.dims()[0]
    }

    /// P_0, …, P_{seq_len - 1} as a `[seq_len, d_model]` tensor.
    pub fn forward(&self, seq_len: usize) -> Tensor<2> {
        check_seq_len(seq_len, self.max_seq_len());
        let weight = self.table.weight.val();
        let positions = Tensor::<1, Int>::arange(0..seq_len as i64, &weight.device()).reshape([1, seq_len]);
        let [_, d_model] = weight.dims();
        self.table.forward(positions).reshape([seq_len, d_model])
    }
}
// ANCHOR_END: learned

// ANCHOR: input_embedding
/// Configuration of [`InputEmbedding`].
#[derive(Config, Debug)]
pub struct InputEmbeddingConfig {
    pub vocab_size: usize,
    pub d_model: usize,
    /// The longest sequence the model accepts (its context length).
    pub max_seq_len: usize,
    /// Learned positions (GPT-2) if true, fixed sinusoids (Vaswani et al.) if false.
    #[config(default = true)]
    pub learned_positions: bool,
}

/// The input layer of a Transformer: x_t = E[token_t] + P_t.
#[derive(Module, Debug)]
pub struct InputEmbedding {
    pub token: Embedding,
    /// `None` means sinusoidal positions, which need no parameters.
    pub position: Option<LearnedPositionalEmbedding>,
    pub max_seq_len: usize,
}

impl InputEmbeddingConfig {
    pub fn init(&self, device: &Device) -> InputEmbedding {
        InputEmbedding {
            token: EmbeddingConfig::new(self.vocab_size, self.d_model).init(device),
            position: self
                .learned_positions
                .then(|| LearnedPositionalEmbeddingConfig::new(self.max_seq_len, self.d_model).init(device)),
            max_seq_len: self.max_seq_len,
        }
    }
}

impl InputEmbedding {
    /// Token ids `[batch, seq]` to vectors `[batch, seq, d_model]`.
    ///
    /// # Panics
    /// If `seq` exceeds `max_seq_len`, with a message saying so: a model has no position vector past its context.
    pub fn forward(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        let [_, seq_len] = tokens.dims();
        check_seq_len(seq_len, self.max_seq_len);
        let x = self.token.forward(tokens); // [batch, seq, d_model]
        let [_, _, d_model] = x.dims();
        let positions = match &self.position {
            Some(learned) => learned.forward(seq_len),
            None => sinusoidal_positional_encoding(seq_len, d_model, &x.device()),
        };
        x + positions.unsqueeze::<3>() // [1, seq, d_model] broadcasts over the batch
    }
}
// ANCHOR_END: input_embedding

fn check_seq_len(seq_len: usize, max_seq_len: usize) {
    assert!(
        seq_len <= max_seq_len,
        "sequence of {seq_len} tokens is longer than the context of {max_seq_len}: crop it to the last \
         {max_seq_len} tokens or use a model with a longer context"
    );
}
