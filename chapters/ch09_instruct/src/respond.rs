//! Answering an instruction: the prompt in the Alpaca format, then the model's most likely tokens one at a time
//! (chapter 5's sampler and KV cache) until it writes the end-of-text token.

use gpt::generation::Decoder;
use gpt::{SamplingConfig, generate};

use crate::InstructError;
use crate::data::Example;
use crate::prompt::format_prompt;
use crate::tokenize::InstructionTokenizer;

// ANCHOR: respond
/// The response of `model` to `example`'s instruction and input (its output is not read): greedy decoding from
/// the prompt, stopped at the first end-of-text token or after `max_new_tokens`. `on_text` receives the response
/// as it grows, piece by piece, for a terminal to stream (a piece is held back while its bytes are not yet whole
/// UTF-8).
pub fn respond(
    model: &impl Decoder,
    tokenizer: &InstructionTokenizer,
    example: &Example,
    max_new_tokens: usize,
    mut on_text: impl FnMut(&str),
) -> Result<String, InstructError> {
    if example.instruction.trim().is_empty() {
        return Err(InstructError::EmptyInstruction);
    }
    let prompt = tokenizer.encode(&format_prompt(&example.instruction, &example.input))?;
    let end_of_text = tokenizer.end_of_text();
    let greedy = SamplingConfig::new().with_temperature(0.0);
    let mut shown = 0;
    let stop = |new_tokens: &[u32]| {
        let text = tokenizer.decode(new_tokens);
        if text.len() > shown && text.is_char_boundary(shown) {
            on_text(&text[shown..]);
            shown = text.len();
        }
        new_tokens.last() == Some(&end_of_text)
    };
    let generation = generate(model, &prompt, max_new_tokens, &greedy, stop)?;
    let text = tokenizer.decode(&generation.tokens);
    if text.len() > shown && text.is_char_boundary(shown) {
        on_text(&text[shown..]); // the last piece, when the token limit stopped the loop
    }
    Ok(text.trim().to_string())
}
// ANCHOR_END: respond
