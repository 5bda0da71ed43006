//! GPT-2's own tokenizer: chapter 1's byte-level BPE, with OpenAI's 50,000 merges read from a Hugging Face folder.
//!
//! Three things separate chapter 1's tokenizer from GPT-2's, and none of them is the algorithm:
//! - **the files**: `vocab.json` maps each token, spelt in GPT-2's printable alphabet ([`byte_to_unicode`]: the
//!   space is `Ġ`, the newline `Ċ`), to its id; `merges.txt` lists the merges in the order they were learned, one
//!   `left right` pair a line (`tokenizer.json` holds both, under `model`);
//! - **the ids**: GPT-2 numbers the 256 byte tokens in the order of their printable characters (`!` is 0), not by
//!   byte value as chapter 1 does, so ids are translated both ways; merge r makes token 256 + r in both;
//! - **the pre-tokenizer**: GPT-2 cuts text with its regular expression [`GPT2_PATTERN`], run by a regex engine
//!   with Unicode's exact letter and number classes (chapter 1's hand-written cutter uses Rust's `char` classes,
//!   which differ on a few code points).
//!
//! `<|endoftext|>` (id 50,256) separates documents. [`Gpt2Tokenizer::encode`] reads it as plain text, as
//! tiktoken's `encode_ordinary` does, so that no user text can smuggle in a control token;
//! [`Gpt2Tokenizer::encode_with_end_of_text`] turns it into its id.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use fancy_regex::Regex;
use tokens::BpeTokenizer;
use tokens::bpe::{BYTE_TOKENS, byte_to_unicode};

use crate::Gpt2Error;

/// GPT-2's separator between documents.
pub const END_OF_TEXT: &str = "<|endoftext|>";

// ANCHOR: pattern
/// GPT-2's pre-tokenizer (`encoder.py`): English contractions; a run of letters, of digits, or of other symbols,
/// each with at most one leading space; whitespace, leaving the last space of a run to the word after it.
pub const GPT2_PATTERN: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
// ANCHOR_END: pattern

/// A GPT-2-style tokenizer: chapter 1's BPE on byte-value ids, and the translation to the files' ids.
#[derive(Debug, Clone)]
pub struct Gpt2Tokenizer {
    bpe: BpeTokenizer,
    /// The file's id of each of chapter 1's ids (bytes by value, then merges in order).
    file_id: Vec<u32>,
    /// Chapter 1's id of each of the file's ids; `None` for special tokens.
    bpe_id: Vec<Option<u32>>,
    /// The special tokens (`<|endoftext|>` and any other the vocabulary adds), by text.
    specials: HashMap<String, u32>,
    pattern: Regex,
}

// ANCHOR: load
impl Gpt2Tokenizer {
    /// The tokenizer of a Hugging Face folder: `vocab.json` and `merges.txt`, or `tokenizer.json`.
    pub fn from_folder(folder: &Path) -> Result<Self, Gpt2Error> {
        let (vocab_path, merges_path) = (folder.join("vocab.json"), folder.join("merges.txt"));
        if vocab_path.is_file() && merges_path.is_file() {
            let vocab: HashMap<String, u32> = serde_json::from_str(&read(&vocab_path)?)
                .map_err(|e| tokenizer_file(&vocab_path, format!("not a JSON map of tokens to ids: {e}")))?;
            let merges = read(&merges_path)?
                .lines()
                .filter(|line| !line.starts_with("#version") && !line.trim().is_empty())
                .map(|line| {
                    let (left, right) = line
                        .split_once(' ')
                        .ok_or_else(|| tokenizer_file(&merges_path, format!("line {line:?} is not `left right`")))?;
                    Ok((left.to_string(), right.to_string()))
                })
                .collect::<Result<Vec<_>, Gpt2Error>>()?;
            return Self::new(&vocab, &merges, &vocab_path);
        }
        let json_path = folder.join("tokenizer.json");
        if !json_path.is_file() {
            return Err(Gpt2Error::NoTokenizer {
                folder: folder.to_path_buf(),
            });
        }
        let json: serde_json::Value = serde_json::from_str(&read(&json_path)?)
            .map_err(|e| tokenizer_file(&json_path, format!("not JSON: {e}")))?;
        let model = &json["model"];
        let vocab: HashMap<String, u32> = serde_json::from_value(model["vocab"].clone())
            .map_err(|e| tokenizer_file(&json_path, format!("model.vocab is not a map of tokens to ids: {e}")))?;
        // Older files spell a merge "left right", newer ones ["left", "right"].
        let merges = model["merges"]
            .as_array()
            .ok_or_else(|| tokenizer_file(&json_path, "model.merges is missing: not a BPE tokenizer".into()))?
            .iter()
            .map(|merge| match merge {
                serde_json::Value::String(pair) => pair.split_once(' ').map(|(l, r)| (l.into(), r.into())),
                serde_json::Value::Array(pair) => match pair.as_slice() {
                    [serde_json::Value::String(l), serde_json::Value::String(r)] => Some((l.clone(), r.clone())),
                    _ => None,
                },
                _ => None,
            })
            .collect::<Option<Vec<(String, String)>>>()
            .ok_or_else(|| tokenizer_file(&json_path, "a merge is neither \"left right\" nor a pair".into()))?;
        let mut vocab = vocab;
        for added in json["added_tokens"].as_array().into_iter().flatten() {
            if let (Some(content), Some(id)) = (added["content"].as_str(), added["id"].as_u64()) {
                vocab.insert(content.to_string(), id as u32);
            }
        }
        Self::new(&vocab, &merges, &json_path)
    }

    /// The tokenizer of a vocabulary and its merges, spelt in GPT-2's alphabet. Every merge must join two tokens of
    /// the vocabulary into a third; every token that is neither a byte nor made by a merge is a special token.
    pub fn new(vocab: &HashMap<String, u32>, merges: &[(String, String)], path: &Path) -> Result<Self, Gpt2Error> {
        let bad = |message: String| tokenizer_file(path, message);
        let mut bpe_id_of_text: HashMap<String, u32> = (0..=255u8)
            .map(|byte| (byte_to_unicode(byte).to_string(), u32::from(byte)))
            .collect();
        let mut file_id = Vec::with_capacity(BYTE_TOKENS + merges.len());
        for byte in 0..=255u8 {
            let text = byte_to_unicode(byte).to_string();
            let id = vocab
                .get(&text)
                .ok_or_else(|| bad(format!("the byte token {text:?} is not in the vocabulary")))?;
            file_id.push(*id);
        }
        let mut pairs = Vec::with_capacity(merges.len());
        for (rank, (left, right)) in merges.iter().enumerate() {
            let part = |text: &String| {
                bpe_id_of_text
                    .get(text)
                    .copied()
                    .ok_or_else(|| bad(format!("merge {rank} uses {text:?}, which no earlier token spells")))
            };
            pairs.push((part(left)?, part(right)?));
            let merged = format!("{left}{right}");
            let id = vocab
                .get(&merged)
                .ok_or_else(|| bad(format!("merge {rank} makes {merged:?}, which is not in the vocabulary")))?;
            file_id.push(*id);
            bpe_id_of_text.insert(merged, (BYTE_TOKENS + rank) as u32);
        }
        let size = vocab.values().max().map_or(0, |&max| max as usize + 1);
        let mut bpe_id = vec![None; size];
        for (ours, &theirs) in file_id.iter().enumerate() {
            bpe_id[theirs as usize] = Some(ours as u32);
        }
        let specials = vocab
            .iter()
            .filter(|(text, _)| !bpe_id_of_text.contains_key(*text))
            .map(|(text, &id)| (text.clone(), id))
            .collect();
        let bpe = BpeTokenizer::from_merges(pairs).map_err(|e| bad(e.to_string()))?;
        let pattern = Regex::new(GPT2_PATTERN).expect("GPT-2's pattern is a valid regex");
        Ok(Self {
            bpe,
            file_id,
            bpe_id,
            specials,
            pattern,
        })
    }
}
// ANCHOR_END: load

// ANCHOR: encode
impl Gpt2Tokenizer {
    /// The ids of `text`, special tokens read as plain text: cut by [`GPT2_PATTERN`], then chapter 1's merges
    /// inside each piece, then each id translated to the file's.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        self.pattern
            .find_iter(text)
            .map(|piece| piece.expect("GPT-2's pattern needs no backtracking limit").as_str())
            .flat_map(|piece| self.bpe.encode_piece(piece.as_bytes()))
            .map(|id| self.file_id[id as usize])
            .collect()
    }

    /// [`encode`](Self::encode), with each `<|endoftext|>` turned into its id: how documents are joined.
    pub fn encode_with_end_of_text(&self, text: &str) -> Vec<u32> {
        let end = self.end_of_text();
        let mut ids = Vec::new();
        for (i, document) in text.split(END_OF_TEXT).enumerate() {
            if i > 0 {
                ids.extend(end);
            }
            ids.extend(self.encode(document));
        }
        ids
    }

    /// The bytes these ids stand for (special tokens as their text).
    pub fn decode_bytes(&self, ids: &[u32]) -> Result<Vec<u8>, Gpt2Error> {
        let mut bytes = Vec::new();
        for &id in ids {
            match self.bpe_id.get(id as usize) {
                Some(Some(ours)) => bytes.extend(self.bpe.decode_bytes(&[*ours]).expect("every id was checked")),
                _ => match self.specials.iter().find(|&(_, &special)| special == id) {
                    Some((text, _)) => bytes.extend(text.as_bytes()),
                    None => {
                        return Err(Gpt2Error::UnknownToken {
                            id,
                            vocab_size: self.vocab_size(),
                        });
                    }
                },
            }
        }
        Ok(bytes)
    }

    /// The text these ids stand for; bytes that do not form UTF-8 (a sample may stop inside a character) become
    /// U+FFFD, as GPT-2's `errors="replace"` does.
    pub fn decode(&self, ids: &[u32]) -> Result<String, Gpt2Error> {
        Ok(String::from_utf8_lossy(&self.decode_bytes(ids)?).into_owned())
    }
}
// ANCHOR_END: encode

impl Gpt2Tokenizer {
    /// One more than the largest id: the number of rows the model's embedding needs.
    pub fn vocab_size(&self) -> usize {
        self.bpe_id.len()
    }

    /// `<|endoftext|>`'s id, if the vocabulary has it.
    pub fn end_of_text(&self) -> Option<u32> {
        self.specials.get(END_OF_TEXT).copied()
    }

    /// How the file spells token `id` (`Ġthe` for " the"), or `None` outside the vocabulary.
    pub fn token_text(&self, id: u32) -> Option<String> {
        let bytes = self.decode_bytes(&[id]).ok()?;
        if self.bpe_id.get(id as usize).copied().flatten().is_none() {
            return String::from_utf8(bytes).ok();
        }
        Some(bytes.into_iter().map(byte_to_unicode).collect())
    }
}

fn read(path: &Path) -> Result<String, Gpt2Error> {
    std::fs::read_to_string(path).map_err(|e| tokenizer_file(path, e.to_string()))
}

fn tokenizer_file(path: &Path, message: String) -> Gpt2Error {
    Gpt2Error::TokenizerFile {
        path: PathBuf::from(path),
        message,
    }
}
