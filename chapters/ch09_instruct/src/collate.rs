//! Examples as one batch of input and target windows: each example's prompt, response and end-of-text token,
//! padded with end-of-text tokens to the longest, the targets shifted by one; the targets of the padding (and, as
//! an option, of the prompt) are [`IGNORE`], so that they add nothing to the loss.

use burn::prelude::*;

/// The target that adds nothing to the loss (PyTorch's `ignore_index` default).
pub const IGNORE: i64 = -100;

/// Why examples cannot form a batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CollateError {
    #[error("a batch needs at least one example")]
    Empty,
    #[error(
        "example {index} of the batch needs a window of {window} tokens (its prompt, response and end-of-text \
         token, less one), past the model's context of {context}: shorten it, or leave it out"
    )]
    TooLong {
        index: usize,
        window: usize,
        context: usize,
    },
}

/// One example as token ids: its prompt and its response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenizedExample {
    pub prompt: Vec<u32>,
    pub response: Vec<u32>,
}

/// Input and target windows `[batch, t]`, row-major, on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub inputs: Vec<i64>,
    pub targets: Vec<i64>,
    /// `[batch, t]`.
    pub shape: [usize; 2],
}

// ANCHOR: collate
/// The batch of `examples`. Example i is the sequence s = prompt ‖ response ‖ ⟨eot⟩ of n_i tokens; every window
/// is t = max_i n_i - 1 long. Its inputs are s_0 .. s_{n_i - 2} and its targets s_1 .. s_{n_i - 1}, the next token
/// at each position, so the last target is the end-of-text token: the model learns to stop. After them the inputs
/// are padded with end-of-text tokens and the targets with [`IGNORE`]. With `mask_prompt`, the targets that are
/// prompt tokens (s_{j+1} for j + 1 < |prompt|) are [`IGNORE`] too: only the response is learned. (The prompt ends
/// with the `### Response:` header, so the header is masked too; Raschka's exercise 7.2 masks the instruction and
/// input and still learns the header, which every example repeats.)
pub fn collate(
    examples: &[TokenizedExample],
    end_of_text: u32,
    mask_prompt: bool,
    context: usize,
) -> Result<Batch, CollateError> {
    let lengths: Vec<usize> = examples.iter().map(|e| e.prompt.len() + e.response.len() + 1).collect();
    let t = lengths.iter().max().ok_or(CollateError::Empty)? - 1;
    if let Some(index) = lengths.iter().position(|&n| n - 1 > context) {
        let window = lengths[index] - 1;
        return Err(CollateError::TooLong { index, window, context });
    }
    let (mut inputs, mut targets) = (Vec::new(), Vec::new());
    for example in examples {
        let sequence: Vec<i64> = (example.prompt.iter().chain(&example.response))
            .chain([&end_of_text])
            .map(|&id| id as i64)
            .collect();
        let n = sequence.len();
        for j in 0..t {
            inputs.push(if j < n - 1 { sequence[j] } else { end_of_text as i64 });
            let is_prompt = mask_prompt && j + 1 < example.prompt.len();
            targets.push(if j < n - 1 && !is_prompt {
                sequence[j + 1]
            } else {
                IGNORE
            });
        }
    }
    Ok(Batch {
        inputs,
        targets,
        shape: [examples.len(), t],
    })
}
// ANCHOR_END: collate

impl Batch {
    /// The inputs and targets as tensors `[batch, t]` on `device`.
    pub fn tensors(&self, device: &Device) -> (Tensor<2, Int>, Tensor<2, Int>) {
        let tensor = |values: &[i64]| Tensor::from_data(TensorData::new(values.to_vec(), self.shape), device);
        (tensor(&self.inputs), tensor(&self.targets))
    }
}
