//! Chapter 8's suite, one test binary: GPT-2's tokenizer against tiktoken and Hugging Face's `tokenizers`, and
//! GPT-2 folders against `transformers`.

mod hugging_face;
mod tokenizer;
