//! Exercise 1: GPT-2 by name. OpenAI released four sizes, all with the same vocabulary (50,257 tokens), context
//! (1,024) and block; they differ in width d, depth L and heads h (always d / h = 64).

use gpt2::{Gpt2Config, Gpt2Error};

/// One released size: its name on the hub (`openai-community/NAME`) and shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gpt2Size {
    pub name: &'static str,
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_head: usize,
}

pub const GPT2_SIZES: [Gpt2Size; 4] = [
    Gpt2Size {
        name: "gpt2",
        n_embd: 768,
        n_layer: 12,
        n_head: 12,
    },
    Gpt2Size {
        name: "gpt2-medium",
        n_embd: 1024,
        n_layer: 24,
        n_head: 16,
    },
    Gpt2Size {
        name: "gpt2-large",
        n_embd: 1280,
        n_layer: 36,
        n_head: 20,
    },
    Gpt2Size {
        name: "gpt2-xl",
        n_embd: 1600,
        n_layer: 48,
        n_head: 25,
    },
];

impl Gpt2Size {
    /// The size called `name` (with or without `openai-community/`).
    pub fn by_name(name: &str) -> Option<Self> {
        let name = name.trim_start_matches("openai-community/");
        GPT2_SIZES.into_iter().find(|size| size.name == name)
    }

    /// The `config.json` the hub's folder holds, as chapter 8 reads it (the other fields are GPT-2's defaults).
    pub fn config(&self) -> Gpt2Config {
        serde_json::from_value(serde_json::json!({
            "n_embd": self.n_embd, "n_layer": self.n_layer, "n_head": self.n_head,
        }))
        .expect("a valid GPT-2 configuration")
    }

    /// Parameters, counted by chapter 5's closed form: V d + T d for the embeddings, 12 d² + 13 d per block
    /// (attention 4d² + 4d, MLP 8d² + 5d, two norms 4d), 2d for the final norm; the head is the token
    /// embedding again.
    pub fn num_params(&self) -> Result<usize, Gpt2Error> {
        Ok(self.config().to_gpt()?.num_params())
    }

    /// Bytes of the weights in float32, what `model.safetensors` holds and what loading them takes.
    pub fn float32_bytes(&self) -> Result<usize, Gpt2Error> {
        Ok(self.num_params()? * 4)
    }
}
