//! Exercise 1: what masking the prompt takes out of the loss. Without the mask, every target of the prompt counts;
//! in Alpaca's format most of them are the preamble and headers, the same in every example, which the model learns
//! in a few steps and then keeps relearning.

use instruct::{IGNORE, TokenizedExample, collate};

/// How a batch's targets divide between the prompt and the response (its end-of-text token included), padding
/// left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetShares {
    pub prompt: usize,
    pub response: usize,
}

impl TargetShares {
    /// The share of the loss's terms that the prompt takes when it is not masked.
    pub fn prompt_share(&self) -> f64 {
        self.prompt as f64 / (self.prompt + self.response) as f64
    }
}

/// The targets of `examples`, collated without the mask, counted by whether the mask would have ignored them.
pub fn target_shares(examples: &[TokenizedExample], end_of_text: u32, context: usize) -> TargetShares {
    let kept = |mask_prompt: bool| {
        let batch = collate(examples, end_of_text, mask_prompt, context).expect("the examples fit the context");
        batch.targets.iter().filter(|&&target| target != IGNORE).count()
    };
    let (all, response) = (kept(false), kept(true));
    TargetShares {
        prompt: all - response,
        response,
    }
}
