//! The Alpaca prompt format (Taori et al., 2023), as Raschka's chapter 7 writes it: a fixed preamble, the
//! instruction, the input when there is one, and a header after which the response follows.

use crate::data::Example;

// ANCHOR: prompt
/// The sentence every prompt opens with.
pub const PREAMBLE: &str =
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.";

/// The prompt of an instruction and its input (left out when empty), ending where the response begins:
///
/// ```text
/// Below is an instruction that describes a task. Write a response that appropriately completes the request.
///
/// ### Instruction:
/// {instruction}
///
/// ### Input:
/// {input}
///
/// ### Response:
/// ```
pub fn format_prompt(instruction: &str, input: &str) -> String {
    let mut prompt = format!("{PREAMBLE}\n\n### Instruction:\n{instruction}");
    if !input.is_empty() {
        prompt += &format!("\n\n### Input:\n{input}");
    }
    prompt + "\n\n### Response:\n"
}

/// An example's prompt and the response the model learns to write after it.
pub fn prompt_and_response(example: &Example) -> (String, &str) {
    (format_prompt(&example.instruction, &example.input), &example.output)
}
// ANCHOR_END: prompt
