//! A classifier on a pretrained backbone: the backbone reads the message, one vector sums it up (the last real
//! token's state for the GPT, `[CLS]`'s or the mean of the states for a BERT), and a linear head scores the two
//! classes. What fine-tuning trains is set by the [`Regime`].

use bert::Bert;
use bert::model::mean_pool;
use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;
use gpt::Gpt;
use serde::{Deserialize, Serialize};

use crate::lora::LoraConfig;

/// The two classes: ham and spam.
pub const NUM_CLASSES: usize = 2;

// ANCHOR: classifier
/// The network that reads the message.
// One backbone per classifier, built once: the size of the enum's larger variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Backbone {
    /// Chapter 5's GPT: causal, so a position's state has read only the tokens up to it.
    Gpt(Gpt),
    /// Chapter 6's encoder: every position has read the whole message.
    Bert(Bert),
}

/// How the backbone's states `[batch, t, d]` become one vector per message `[batch, d]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// The last real token's state: in a causal model the only one that has read the whole message.
    Last,
    /// `[CLS]`'s state, the first position (BERT's sentence vector).
    Cls,
    /// The mean over the real tokens (sentence-transformers' sentence vector).
    Mean,
}

/// p(c | x) = softmax(W_c · pool(backbone(x)) + b_c).
#[derive(Module, Debug)]
pub struct Classifier {
    pub backbone: Backbone,
    pub dropout: Dropout,
    /// d → 2: a score for ham and one for spam.
    pub head: Linear,
    #[module(skip)]
    pub pooling: Pooling,
}

impl Classifier {
    /// A fresh head (and dropout `p` before it) on `backbone`, whose states are `d` wide.
    pub fn new(backbone: Backbone, d: usize, pooling: Pooling, dropout: f64, device: &Device) -> Self {
        Classifier {
            backbone,
            dropout: DropoutConfig::new(dropout).init(),
            head: LinearConfig::new(d, NUM_CLASSES).init(device),
            pooling,
        }
    }

    /// One vector per message `[batch, d]` from `tokens` `[batch, t]`, where `padding` `[batch, t]` is true at
    /// real tokens (every row has at least one).
    pub fn features(&self, tokens: Tensor<2, Int>, padding: Tensor<2, Bool>) -> Tensor<2> {
        let hidden = match &self.backbone {
            // Causal attention: padding after a token never reaches it, so the GPT needs no mask.
            Backbone::Gpt(gpt) => gpt.hidden_states(tokens),
            Backbone::Bert(bert) => bert.forward(tokens, None, Some(padding.clone())),
        };
        self.pool(hidden, padding)
    }

    /// The backbone's states `[batch, t, d]` pooled into one vector per message `[batch, d]`, as
    /// [`Self::pooling`] says.
    pub fn pool(&self, hidden: Tensor<3>, padding: Tensor<2, Bool>) -> Tensor<2> {
        let [batch, _, d] = hidden.dims();
        match self.pooling {
            Pooling::Last => {
                let last = padding.int().sum_dim(1).sub_scalar(1); // [batch, 1]: index of the last real token
                let at = last.unsqueeze_dim::<3>(2).repeat_dim(2, d); // [batch, 1, d]
                hidden.gather(1, at).reshape([batch, d])
            }
            Pooling::Cls => hidden.slice([0..batch, 0..1]).reshape([batch, d]),
            Pooling::Mean => mean_pool(hidden, padding),
        }
    }

    /// Class scores (logits) `[batch, 2]`.
    pub fn forward(&self, tokens: Tensor<2, Int>, padding: Tensor<2, Bool>) -> Tensor<2> {
        self.head.forward(self.dropout.forward(self.features(tokens, padding)))
    }
}
// ANCHOR_END: classifier

// ANCHOR: regime
/// What fine-tuning trains; everything else is frozen (no gradient, and its dropout off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// The head only: the backbone is a fixed feature extractor.
    Head,
    /// The last block (and, for the GPT, its final layer norm) and the head.
    LastBlock,
    /// Every parameter.
    Full,
    /// LoRA adapters on the attention projections, and the head.
    Lora,
}

impl Classifier {
    /// This classifier set up to train under `regime` (with `lora` for [`Regime::Lora`]), with burn's freezing:
    /// a frozen parameter asks for no gradient, so the optimiser never moves it.
    pub fn for_regime(mut self, regime: Regime, lora: &LoraConfig) -> Self {
        self.backbone = match (regime, self.backbone) {
            (Regime::Full, backbone) => backbone,
            (Regime::Head, backbone) => backbone.freeze(),
            (Regime::Lora, backbone) => lora.apply(backbone.freeze()),
            (Regime::LastBlock, Backbone::Gpt(gpt)) => {
                let mut gpt = gpt.freeze();
                let last = gpt.blocks.pop().expect("a GPT has blocks");
                gpt.blocks.push(last.unfreeze());
                gpt.final_norm = gpt.final_norm.unfreeze();
                Backbone::Gpt(gpt)
            }
            (Regime::LastBlock, Backbone::Bert(bert)) => {
                let mut bert = bert.freeze();
                let last = bert.layers.pop().expect("a BERT has layers");
                bert.layers.push(last.unfreeze());
                Backbone::Bert(bert)
            }
        };
        self
    }
}

/// How many numbers training can change: the parameters that ask for a gradient (LoRA's A and B included,
/// the frozen W they adapt not).
pub fn num_trainable_params<M: Module>(module: &M) -> usize {
    #[derive(Default)]
    struct Trainable(usize);
    impl ModuleVisitor for Trainable {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if param.base().is_require_grad() {
                self.0 += param.lazy_shape().num_elements();
            }
        }
    }
    let mut trainable = Trainable::default();
    module.visit(&mut trainable);
    trainable.0
}
// ANCHOR_END: regime

// ANCHOR: counts
/// The sizes that fix each regime's trainable parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackboneSize {
    /// Width d of the states.
    pub width: usize,
    pub layers: usize,
    /// Parameters of one block.
    pub per_layer: usize,
    /// Parameters after the last block that the last-block regime trains too (the GPT's final layer norm).
    pub after_layers: usize,
    /// All of the backbone's parameters.
    pub total: usize,
}

impl BackboneSize {
    /// The trainable parameters of `regime` in closed form. The head: 2d + 2. Last block: the head and one
    /// block. Full: everything. LoRA: the head and r(d + d) for each of the L × |targets| adapted
    /// d × d projections.
    pub fn trainable(&self, regime: Regime, lora: &LoraConfig) -> usize {
        let head = NUM_CLASSES * self.width + NUM_CLASSES;
        head + match regime {
            Regime::Head => 0,
            Regime::LastBlock => self.per_layer + self.after_layers,
            Regime::Full => self.total,
            Regime::Lora => lora.num_params(self.layers * lora.targets.len(), self.width, self.width),
        }
    }
}
// ANCHOR_END: counts
