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
/// the prompt, stopped at the first end-of-text token or after `max_new_tokens`. A prompt that leaves the model no
/// position to answer in is an error (a longer one would be cropped from the left, its instruction lost). `on_text` receives the response
/// as it grows, piece by piece, for a terminal to stream ([`TextStream`]).
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
    let context = model.gpt().block_size();
    if prompt.len() >= context {
        return Err(InstructError::PromptTooLong {
            tokens: prompt.len(),
            context,
        });
    }
    let end_of_text = tokenizer.end_of_text();
    let greedy = SamplingConfig::new().with_temperature(0.0);
    let mut stream = TextStream::default();
    let stop = |new_tokens: &[u32]| {
        on_text(&stream.next_piece(&tokenizer.decode(new_tokens), false));
        new_tokens.last() == Some(&end_of_text)
    };
    let generation = generate(model, &prompt, max_new_tokens, &greedy, stop)?;
    let text = tokenizer.decode(&generation.tokens);
    on_text(&stream.next_piece(&text, true)); // the last piece, when the token limit stopped the loop
    Ok(text.trim().to_string())
}
// ANCHOR_END: respond

/// A text that grows token by token, shown piece by piece. A byte-level BPE token can end inside a character,
/// whose bytes the decoder shows as U+FFFD (�) until the next token completes it: a piece stops before a trailing
/// U+FFFD, which is shown only once the text is finished (a byte sequence that never becomes a character).
#[derive(Debug, Default)]
pub struct TextStream {
    shown: String,
}

impl TextStream {
    /// What `text`, the whole decoded text so far, adds to what was shown (empty if nothing new is whole yet).
    pub fn next_piece(&mut self, text: &str, finished: bool) -> String {
        let whole = if finished {
            text
        } else {
            text.trim_end_matches('\u{FFFD}')
        };
        match whole.strip_prefix(self.shown.as_str()) {
            Some(piece) if !piece.is_empty() => {
                let piece = piece.to_string();
                self.shown = whole.to_string();
                piece
            }
            _ => String::new(),
        }
    }
}
