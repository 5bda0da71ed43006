//! Examples to token ids: the backbone's own tokenizer, and an end-of-text token that closes every response (the
//! model learns to stop there) and pads every batch.

use burn::module::Param;
use burn::prelude::*;
use gpt::data::Tokenizer;
use gpt::model::Gpt;
use gpt2::Gpt2Tokenizer;

use crate::collate::TokenizedExample;
use crate::data::Example;
use crate::prompt::prompt_and_response;

/// The tokenizer of a backbone, with its end-of-text token.
#[derive(Debug, Clone)]
pub enum InstructionTokenizer {
    /// A chapter 5 run's tokenizer (characters or chapter 1's byte-level BPE). Tiny Shakespeare has no documents to
    /// separate, so it has no end-of-text token: the first id past its vocabulary, V, becomes one, and the model
    /// gets a row for it ([`with_end_of_text`]).
    Chapter5(Tokenizer),
    /// GPT-2's tokenizer, whose `<|endoftext|>` (50256) already separates its training documents (boxed: its
    /// tables are large beside chapter 5's).
    Gpt2(Box<Gpt2Tokenizer>),
}

impl InstructionTokenizer {
    /// The end-of-text token's id.
    pub fn end_of_text(&self) -> u32 {
        match self {
            InstructionTokenizer::Chapter5(t) => t.vocab_size() as u32,
            InstructionTokenizer::Gpt2(t) => t.end_of_text().expect("GPT-2's vocabulary has <|endoftext|>"),
        }
    }

    /// How many ids the model must embed: the tokenizer's, and for a chapter 5 tokenizer the new end-of-text one.
    pub fn vocab_size(&self) -> usize {
        match self {
            InstructionTokenizer::Chapter5(t) => t.vocab_size() + 1,
            InstructionTokenizer::Gpt2(t) => t.vocab_size(),
        }
    }

    /// The ids of `text`. A character tokenizer fails on a character it never saw, and the error names it.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, gpt::GptError> {
        match self {
            InstructionTokenizer::Chapter5(t) => t.encode(text),
            InstructionTokenizer::Gpt2(t) => Ok(t.encode(text)),
        }
    }

    /// The text of `ids`, up to the first end-of-text token. Ids past the tokenizer's vocabulary (rows a model may
    /// pad its embedding with, which it can still draw) are left out, so that they cannot erase the rest.
    pub fn decode(&self, ids: &[u32]) -> String {
        let end = ids.iter().position(|&id| id == self.end_of_text()).unwrap_or(ids.len());
        let known: Vec<u32> = (ids[..end].iter().copied())
            .filter(|&id| (id as usize) < self.vocab_size())
            .collect();
        let text = match self {
            InstructionTokenizer::Chapter5(t) => t.decode(&known).ok(),
            InstructionTokenizer::Gpt2(t) => t.decode(&known).ok(),
        };
        text.unwrap_or_default()
    }

    /// An example's prompt and response as ids, each encoded alone: the boundary between them stays where the
    /// prompt ends, whatever merges a tokenizer could make across it.
    pub fn tokenize(&self, example: &Example) -> Result<TokenizedExample, gpt::GptError> {
        let (prompt, response) = prompt_and_response(example);
        Ok(TokenizedExample {
            prompt: self.encode(&prompt)?,
            response: self.encode(response)?,
        })
    }
}

// ANCHOR: end_of_text
/// `model` with one more token, V, for end-of-text: a row appended to the token embedding E (which is also the
/// head, tied). A new row changes none of the logits of tokens 0..V, each of which depends on its own row alone;
/// set to the mean of E's rows, it makes the new token start as an average token, its logit the mean of the
/// others'.
pub fn with_end_of_text(mut model: Gpt) -> Gpt {
    let e = model.embedding.token.weight.val();
    let mean = e.clone().mean_dim(0); // [1, d]
    // Detached: the grown matrix is a new leaf of the graph, a parameter of its own.
    model.embedding.token.weight = Param::from_tensor(Tensor::cat(vec![e, mean], 0).detach());
    model
}
// ANCHOR_END: end_of_text
