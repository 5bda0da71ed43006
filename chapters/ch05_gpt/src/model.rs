//! The GPT: a stack of pre-LN decoder blocks (causal self-attention, then a GELU MLP) between chapter 1's
//! embeddings and a language-model head that reuses the token embedding matrix.
//!
//! Nothing here is new machinery: the attention is chapter 3's [`MultiHeadAttention`] with chapter 2's causal mask,
//! the MLP and the residual connections are chapter 4's [`FeedForward`] (with burn's GELU) and [`Residual`], the
//! embeddings are chapter 1's [`InputEmbedding`]. What makes it a GPT is what is left out (no encoder, no
//! cross-attention) and the objective: predict every next token. (The command-line tool runs the same model on
//! faster CPU kernels: see [`crate::fast`] and the book's appendix.)

use std::collections::HashMap;

use attention::attention_weights;
use burn::module::{ModuleMapper, Param};
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, LinearConfig};
use burn::prelude::*;
use common::init::NormalInit;
use multi_head::{MultiHeadAttention, MultiHeadAttentionConfig};
use tokens::{InputEmbedding, InputEmbeddingConfig};
use transformer::blocks::Residual;
use transformer::{Activation, FeedForward, NormPosition};

use crate::GptError;

// ANCHOR: config
/// The knobs of nanoGPT's `GPTConfig`, with the defaults of its CPU "baby" Shakespeare run.
#[derive(Config, Debug, PartialEq)]
pub struct GptConfig {
    /// Number of distinct tokens (65 characters for Tiny Shakespeare).
    pub vocab_size: usize,
    /// The context length T: the most tokens the model reads at once.
    #[config(default = 64)]
    pub block_size: usize,
    #[config(default = 4)]
    pub n_layer: usize,
    #[config(default = 4)]
    pub n_head: usize,
    /// The width d of every token's vector.
    #[config(default = 128)]
    pub n_embd: usize,
    /// While training, drop this share of the inputs of the blocks (token + position), of the attention weights,
    /// and of each residual branch's output, as nanoGPT does (its `drop`, `attn_dropout`, `resid_dropout`).
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Biases in the linear layers and layer norms (GPT-2 has them; nanoGPT's default leaves them out: slightly
    /// faster and no worse).
    #[config(default = false)]
    pub bias: bool,
    /// The MLP's non-linearity: the exact GELU (nanoGPT's), or its tanh approximation (OpenAI's GPT-2).
    #[config(default = "Activation::Gelu")]
    pub activation: Activation,
    /// The layer norms' ε (GPT-2's and PyTorch's 10⁻⁵).
    #[config(default = 1e-5)]
    pub layer_norm_eps: f64,
}
// ANCHOR_END: config

// ANCHOR: block
/// One GPT-2 block: x ← x + Attn(LN(x)), then x ← x + MLP(LN(x)),
/// with causal attention and a d → 4d → d GELU MLP.
#[derive(Module, Debug)]
pub struct Block {
    pub attention: MultiHeadAttention,
    pub mlp: FeedForward,
    pub around_attention: Residual,
    pub around_mlp: Residual,
}

impl Block {
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = self
            .around_attention
            .forward(x, |h| self.attention.self_attention(h, true, None).output);
        self.around_mlp.forward(x, |h| self.mlp.forward(h))
    }
}
// ANCHOR_END: block

// ANCHOR: gpt
/// The whole model: h_0 = E[x_t] + P_t, h_ℓ = Block_ℓ(h_{ℓ-1}),
/// logits = LN(h_L) Eᵀ (the head is the token embedding E transposed: "weight tying").
#[derive(Module, Debug)]
pub struct Gpt {
    pub embedding: InputEmbedding,
    pub dropout: Dropout,
    pub blocks: Vec<Block>,
    pub final_norm: LayerNorm,
}

impl Gpt {
    /// Token ids `[batch, t]` (with `t <= block_size`) to next-token logits `[batch, t, vocab_size]`: the logits at
    /// position t are the model's guess for token t + 1, made from tokens 0..=t only.
    pub fn forward(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        self.lm_head(self.hidden_states(tokens))
    }

    /// The last layer norm's output LN(h_L) `[batch, t, d]`: what the head scores, and what a classifier
    /// built on the GPT reads (chapter 7).
    pub fn hidden_states(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        let mut x = self.dropout.forward(self.embedding.forward(tokens));
        for block in &self.blocks {
            x = block.forward(x);
        }
        self.final_norm.forward(x)
    }

    /// h Eᵀ: a score for each token of the vocabulary, by its embedding's dot product with h (one matrix
    /// product for all positions, as in [`multi_head::position_wise`]).
    pub fn lm_head(&self, h: Tensor<3>) -> Tensor<3> {
        let e = self.embedding.token.weight.val();
        let ([batch, t, _], [vocab, d]) = (h.dims(), e.dims());
        h.reshape([batch * t, d])
            .matmul(e.transpose())
            .reshape([batch, t, vocab])
    }

    /// The context length this model was built for.
    pub fn block_size(&self) -> usize {
        self.embedding.max_seq_len
    }

    pub fn vocab_size(&self) -> usize {
        self.embedding.token.weight.dims()[0]
    }
}
// ANCHOR_END: gpt

// ANCHOR: init
impl GptConfig {
    /// A fresh model with GPT-2's initialisation: every weight matrix and embedding ~ 𝒩(0, 0.02²),
    /// the two projections that write into the residual stream (attention's W^O and the MLP's second layer)
    /// ~ 𝒩(0, (0.02/√(2L))²) so that the 2L additions to it keep its variance in check,
    /// biases 0, layer norms γ = 1, β = 0.
    ///
    /// # Panics
    /// If `n_embd` is not a multiple of `n_head` (chapter 3's attention says so).
    pub fn init(&self, device: &Device) -> Gpt {
        let d = self.n_embd;
        let norm = || {
            LayerNormConfig::new(d)
                .with_bias(self.bias)
                .with_epsilon(self.layer_norm_eps)
                .init(device)
        };
        let residual = || Residual {
            norm: norm(),
            dropout: DropoutConfig::new(self.dropout).init(),
            position: NormPosition::Pre,
        };
        let block = || Block {
            attention: MultiHeadAttentionConfig::new(d, self.n_head)
                .with_bias(self.bias)
                .with_dropout(self.dropout)
                .init(device),
            mlp: FeedForward {
                linear_1: LinearConfig::new(d, 4 * d).with_bias(self.bias).init(device),
                linear_2: LinearConfig::new(4 * d, d).with_bias(self.bias).init(device),
                dropout: DropoutConfig::new(0.0).init(),
                activation: self.activation,
            },
            around_attention: residual(),
            around_mlp: residual(),
        };
        let model = Gpt {
            embedding: InputEmbeddingConfig::new(self.vocab_size, d, self.block_size).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            blocks: (0..self.n_layer).map(|_| block()).collect(),
            final_norm: norm(),
        };
        let residual_std = 0.02 / (2.0 * self.n_layer as f64).sqrt();
        model.map(&mut NormalInit::new(0.02).with_residual(&["w_o", "linear_2"], residual_std))
    }

    /// The number of parameters, in closed form: token and position embeddings (V + T)d; per block 4d² for
    /// W^Q, W^K, W^V, W^O and 8d² for the MLP, plus two layer norms; one final layer norm. Biases, if any, add
    /// 4d (attention) + 5d (MLP) + 2d (norms) per block and d at the end. The head is tied: no extra weights.
    pub fn num_params(&self) -> usize {
        let (v, t, d) = (self.vocab_size, self.block_size, self.n_embd);
        (v + t) * d + self.n_layer * self.num_block_params() + self.num_final_norm_params()
    }

    /// One block's parameters: 12d² + 2d, and 11d more with biases.
    pub fn num_block_params(&self) -> usize {
        let d = self.n_embd;
        12 * d * d + 2 * d + if self.bias { 11 * d } else { 0 }
    }

    /// The final layer norm's: d, or 2d with a bias.
    pub fn num_final_norm_params(&self) -> usize {
        if self.bias { 2 * self.n_embd } else { self.n_embd }
    }
}

// ANCHOR_END: init

impl Gpt {
    /// This model with every parameter replaced by the values at its path in `weights` (`blocks.0.attention.w_q.weight`
    /// to a flat array in burn's `[d_in, d_out]` layout): how weights drawn or trained elsewhere (PyTorch, in the
    /// reference test and `examples/from_pytorch_weights.rs`) come in. Every parameter must be there, at its size.
    pub fn with_named_weights(self, weights: &HashMap<String, Vec<f32>>) -> Result<Self, GptError> {
        let mut load = LoadNamedWeights {
            weights,
            path: Vec::new(),
            problems: Vec::new(),
        };
        let model = self.map(&mut load);
        if load.problems.is_empty() {
            Ok(model)
        } else {
            Err(GptError::WeightsDoNotFit {
                problems: load.problems,
            })
        }
    }
}

struct LoadNamedWeights<'a> {
    weights: &'a HashMap<String, Vec<f32>>,
    path: Vec<String>,
    problems: Vec<String>,
}

impl ModuleMapper for LoadNamedWeights<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let path = self.path.join(".");
        let expected = param.val().shape().num_elements();
        match self.weights.get(&path) {
            Some(values) if values.len() == expected => param.map(|t| {
                let loaded = Tensor::<1>::from_floats(values.as_slice(), &t.device()).reshape(t.shape());
                loaded.set_require_grad(t.is_require_grad())
            }),
            Some(values) => {
                self.problems
                    .push(format!("{path} has {} values, not {expected}", values.len()));
                param
            }
            None => {
                self.problems.push(format!("no values for {path}"));
                param
            }
        }
    }
}

// ANCHOR: kv_cache
/// The keys and values every layer has computed so far, `[batch, n_head, t, d_head]` each: generating token
/// t+1 then needs attention of one new query over the cached keys instead of recomputing all t of them.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    layers: Vec<Option<(Tensor<4>, Tensor<4>)>>,
}

impl KvCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many positions the cache holds.
    pub fn len(&self) -> usize {
        match self.layers.first() {
            Some(Some((k, _))) => k.dims()[2],
            _ => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every position from `len` on, as if only the first `len` tokens had been fed (speculative
    /// decoding takes back the drafted tokens the large model rejected).
    pub fn truncate(&mut self, len: usize) {
        for (k, v) in self.layers.iter_mut().flatten() {
            let keep = len.min(k.dims()[2]);
            *k = k.clone().narrow(2, 0, keep);
            *v = v.clone().narrow(2, 0, keep);
        }
    }
}

impl Gpt {
    /// [`Gpt::forward`] for `tokens` that continue the sequence whose keys and values are in `cache` (empty for
    /// a fresh sequence), adding theirs to it. Same logits as running `forward` on the whole sequence, up to
    /// rounding.
    ///
    /// # Panics
    /// If the cached and new tokens together exceed `block_size` (the caller crops; see [`crate::generation`]).
    pub fn forward_cached(&self, tokens: Tensor<2, Int>, cache: &mut KvCache) -> Tensor<3> {
        self.lm_head(self.hidden_states_cached(tokens, cache))
    }

    /// [`Gpt::hidden_states`] of `tokens` that continue the cached sequence: [`Gpt::forward_cached`] before the
    /// head.
    pub fn hidden_states_cached(&self, tokens: Tensor<2, Int>, cache: &mut KvCache) -> Tensor<3> {
        let mut x = self.embed_after(tokens, cache.len());
        for (block, layer_cache) in self.blocks.iter().zip(cache.layers_for(self.blocks.len())) {
            x = block
                .around_attention
                .forward(x, |h| cached_self_attention(&block.attention, h, layer_cache));
            x = block.around_mlp.forward(x, |h| block.mlp.forward(h));
        }
        self.final_norm.forward(x)
    }
}

impl Gpt {
    /// The input embedding of `tokens` standing after `past` earlier ones: E[x] + P_past .. P_{past+t-1}.
    ///
    /// # Panics
    /// If the earlier and new tokens together exceed `block_size` (the caller crops; see [`crate::generation`]).
    pub fn embed_after(&self, tokens: Tensor<2, Int>, past: usize) -> Tensor<3> {
        let [_, t_new] = tokens.dims();
        assert!(
            past + t_new <= self.block_size(),
            "{past} cached + {t_new} new tokens exceed the context of {}",
            self.block_size()
        );
        let positions = match &self.embedding.position {
            Some(learned) => learned.table.weight.val().slice(past..past + t_new), // P_past .. P_{past+t_new-1}
            None => unreachable!("a GPT always has learned positions"),
        };
        self.embedding.token.forward(tokens) + positions.unsqueeze::<3>()
    }
}

impl KvCache {
    /// Every layer's keys and values, `None` for a layer that has seen nothing yet, for a model of `n_layers`:
    /// what a cached pass reads and extends, layer by layer.
    pub fn layers_for(&mut self, n_layers: usize) -> &mut [Option<(Tensor<4>, Tensor<4>)>] {
        self.layers.resize(n_layers, None);
        &mut self.layers
    }
}

/// Chapter 3's multi-head attention, causal, for new positions after the `past` ones whose keys and values are in
/// `cache` (none for a fresh sequence); `cache` then holds them all. New query i stands at position past + i
/// and may see keys 0..=past + i: chapter 2's causal mask, shifted right by past.
fn cached_self_attention(
    attention: &MultiHeadAttention,
    x: Tensor<3>,
    cache: &mut Option<(Tensor<4>, Tensor<4>)>,
) -> Tensor<3> {
    let (q, k_new, v_new) = attention.project(x.clone(), x.clone(), x);
    let (k, v) = match cache.take() {
        Some((k, v)) => (Tensor::cat(vec![k, k_new], 2), Tensor::cat(vec![v, v_new], 2)),
        None => (k_new, v_new),
    };
    let (t_new, t_all) = (q.dims()[2], k.dims()[2]);
    // `tril_mask` marks the keys above the `past`-th diagonal; the allowed ones are the others.
    let allowed = Tensor::<2, Bool>::tril_mask([t_new, t_all], (t_all - t_new) as i64, &q.device()).bool_not();
    let weights = attention_weights(q, k.clone(), Some(allowed.unsqueeze::<4>()));
    *cache = Some((k, v.clone()));
    attention.attend(weights, v)
}
// ANCHOR_END: kv_cache
