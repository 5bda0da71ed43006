//! Chapter 8's suite, one test binary: GPT-2's tokenizer against tiktoken and Hugging Face's `tokenizers`, GPT-2
//! folders against `transformers`, GPT-2 by name, the worked example's measures, and the command line.

mod cli;
mod compare;
mod hub;
mod hugging_face;
mod tokenizer;
