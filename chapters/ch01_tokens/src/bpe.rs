//! Byte-level byte-pair encoding (BPE), the tokenizer family of GPT-2 and its successors.
//!
//! BPE (Sennrich et al., 2016) starts from the smallest possible vocabulary and grows it by *merges*: count every
//! pair of adjacent tokens in the training corpus, make the most frequent pair a new token, rewrite the corpus with
//! it, repeat. GPT-2 (Radford et al., 2019) starts from the 256 byte values rather than from characters, so any
//! string, in any script, encodes without an "unknown" token: in the worst case a character is its UTF-8 bytes.
//!
//! Two details make it work on real text:
//! - *pre-tokenization*: the corpus is first cut into word-like pieces ([`pretokenize`]) and merges never cross a
//!   piece boundary, so "dog." and "dog!" share the token " dog" instead of learning "dog." and "dog!";
//! - *merge order*: encoding replays the merges in the order they were learned (lowest rank first), which is what
//!   makes encoding deterministic and the same as during training.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How many tokens a byte-level vocabulary starts with: one per byte value.
pub const BYTE_TOKENS: usize = 256;

/// Errors of the BPE tokenizer, each naming the problem and the fix.
#[derive(Debug, thiserror::Error)]
pub enum BpeError {
    #[error("cannot train BPE on an empty corpus; check that the data file is not empty")]
    EmptyCorpus,
    #[error("a byte-level vocabulary has at least {BYTE_TOKENS} tokens (one per byte); asked for {requested}")]
    VocabTooSmall { requested: usize },
    #[error("token id {id} is outside the vocabulary (size {vocab_size})")]
    UnknownId { id: u32, vocab_size: usize },
    #[error(
        "merge {index} joins tokens {pair:?}, but only ids below {limit} exist at that point; the merges file is \
         corrupt or from another tokenizer"
    )]
    InvalidMerge { index: usize, pair: (u32, u32), limit: u32 },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a byte-level BPE file saved by BpeTokenizer::save: {source}")]
    Format { path: PathBuf, source: serde_json::Error },
}

/// A byte-level BPE tokenizer: the 256 byte tokens plus one token per learned merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BpeTokenizer {
    /// `merges[r]` is the pair joined by merge `r`, which created token `256 + r`.
    merges: Vec<(u32, u32)>,
    /// The rank of each merged pair: lower ranks were learned first and are applied first.
    ranks: HashMap<(u32, u32), u32>,
    /// The bytes each token id stands for.
    vocab: Vec<Vec<u8>>,
}

/// What [`BpeTokenizer::save`] writes: the merges in order; the vocabulary follows from them.
#[derive(Serialize, Deserialize)]
struct BpeFile {
    kind: String,
    merges: Vec<(u32, u32)>,
}

const FILE_KIND: &str = "byte-level-bpe";

impl BpeTokenizer {
    /// Learns `vocab_size - 256` merges from `corpus`.
    pub fn train(corpus: &str, vocab_size: usize) -> Result<Self, BpeError> {
        Self::train_with_progress(corpus, vocab_size, |_| {})
    }

    // ANCHOR: train
    /// [`BpeTokenizer::train`], calling `on_merge(count_so_far)` after each merge (for a progress bar).
    ///
    /// Training stops early if no adjacent pair is left to merge (a corpus too small for the vocabulary asked for).
    pub fn train_with_progress(
        corpus: &str,
        vocab_size: usize,
        mut on_merge: impl FnMut(usize),
    ) -> Result<Self, BpeError> {
        if corpus.is_empty() {
            return Err(BpeError::EmptyCorpus);
        }
        if vocab_size < BYTE_TOKENS {
            return Err(BpeError::VocabTooSmall { requested: vocab_size });
        }
        // Each distinct pre-token once, with how often it occurs: counting pairs then costs the number of
        // *distinct* words, not the length of the corpus.
        let mut word_counts: HashMap<&str, usize> = HashMap::new();
        for piece in pretokenize(corpus) {
            *word_counts.entry(piece).or_default() += 1;
        }
        let mut words: Vec<(Vec<u32>, usize)> = word_counts
            .into_iter()
            .map(|(word, count)| (word.bytes().map(u32::from).collect(), count))
            .collect();

        let mut merges = Vec::with_capacity(vocab_size - BYTE_TOKENS);
        for new_id in BYTE_TOKENS as u32..vocab_size as u32 {
            let mut pair_counts: HashMap<(u32, u32), usize> = HashMap::new();
            for (symbols, count) in &words {
                for pair in symbols.windows(2) {
                    *pair_counts.entry((pair[0], pair[1])).or_default() += count;
                }
            }
            // The most frequent pair; ties go to the pair that comes first in GPT-2's token order (see
            // `tie_break_key`), so that training does not depend on hash-map order and matches GPT-2's trainers.
            let Some((&best, _)) = pair_counts.iter().max_by(|(pair_a, count_a), (pair_b, count_b)| {
                let key = |&(a, b): &(u32, u32)| (tie_break_key(a), tie_break_key(b));
                count_a.cmp(count_b).then(key(pair_b).cmp(&key(pair_a)))
            }) else {
                break;
            };
            for (symbols, _) in &mut words {
                merge_pair(symbols, best, new_id);
            }
            merges.push(best);
            on_merge(merges.len());
        }
        Self::from_merges(merges)
    }
    // ANCHOR_END: train

    /// The tokenizer defined by an ordered list of merges, checked: merge `r` may only join tokens that exist
    /// before it (ids below `256 + r`).
    pub fn from_merges(merges: Vec<(u32, u32)>) -> Result<Self, BpeError> {
        let mut vocab: Vec<Vec<u8>> = (0..=255u8).map(|byte| vec![byte]).collect();
        let mut ranks = HashMap::with_capacity(merges.len());
        for (index, &(a, b)) in merges.iter().enumerate() {
            let limit = vocab.len() as u32;
            if a >= limit || b >= limit {
                return Err(BpeError::InvalidMerge {
                    index,
                    pair: (a, b),
                    limit,
                });
            }
            vocab.push([vocab[a as usize].as_slice(), vocab[b as usize].as_slice()].concat());
            ranks.insert((a, b), index as u32);
        }
        Ok(Self { merges, ranks, vocab })
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    /// The learned merges, in the order they were learned.
    pub fn merges(&self) -> &[(u32, u32)] {
        &self.merges
    }

    /// The bytes token `id` stands for, or `None` outside the vocabulary.
    pub fn token_bytes(&self, id: u32) -> Option<&[u8]> {
        self.vocab.get(id as usize).map(Vec::as_slice)
    }

    // ANCHOR: encode
    /// The token ids of `text`: pre-tokenize, then replay the merges inside each piece.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        pretokenize(text)
            .into_iter()
            .flat_map(|piece| self.encode_piece(piece.as_bytes()))
            .collect()
    }

    /// Within one piece, repeatedly apply the earliest-learned merge that still matches, until none does.
    pub fn encode_piece(&self, bytes: &[u8]) -> Vec<u32> {
        let mut symbols: Vec<u32> = bytes.iter().map(|&b| u32::from(b)).collect();
        while let Some((rank, pair)) = symbols
            .windows(2)
            .filter_map(|pair| {
                self.ranks
                    .get(&(pair[0], pair[1]))
                    .map(|&rank| (rank, (pair[0], pair[1])))
            })
            .min()
        {
            merge_pair(&mut symbols, pair, BYTE_TOKENS as u32 + rank);
        }
        symbols
    }
    // ANCHOR_END: encode

    /// The bytes these tokens stand for, concatenated.
    pub fn decode_bytes(&self, ids: &[u32]) -> Result<Vec<u8>, BpeError> {
        let mut bytes = Vec::new();
        for &id in ids {
            let token = self.token_bytes(id).ok_or(BpeError::UnknownId {
                id,
                vocab_size: self.vocab_size(),
            })?;
            bytes.extend_from_slice(token);
        }
        Ok(bytes)
    }

    /// The text these tokens stand for. A sequence a model sampled may cut a multi-byte character in two; such
    /// bytes decode to U+FFFD, as GPT-2's `errors="replace"` does. Ids from [`encode`](Self::encode) always
    /// decode to the original text.
    pub fn decode(&self, ids: &[u32]) -> Result<String, BpeError> {
        Ok(String::from_utf8_lossy(&self.decode_bytes(ids)?).into_owned())
    }

    /// Writes the merges as JSON (`{"kind": "byte-level-bpe", "merges": [[a, b], ...]}`).
    pub fn save(&self, path: &Path) -> Result<(), BpeError> {
        let file = BpeFile {
            kind: FILE_KIND.into(),
            merges: self.merges.clone(),
        };
        let json = serde_json::to_string(&file).expect("a list of integer pairs always serializes");
        common::data::write_atomically(path, json.as_bytes()).map_err(|err| BpeError::Io {
            path: path.into(),
            source: std::io::Error::other(err.to_string()),
        })
    }

    /// Reads a tokenizer written by [`save`](Self::save), checking that the merges are consistent.
    pub fn load(path: &Path) -> Result<Self, BpeError> {
        let json = std::fs::read_to_string(path).map_err(|source| BpeError::Io {
            path: path.into(),
            source,
        })?;
        let file: BpeFile = serde_json::from_str(&json).map_err(|source| BpeError::Format {
            path: path.into(),
            source,
        })?;
        if file.kind != FILE_KIND {
            return Err(BpeError::Format {
                path: path.into(),
                source: serde::de::Error::custom(format!("kind is {:?}, expected {FILE_KIND:?}", file.kind)),
            });
        }
        Self::from_merges(file.merges)
    }
}

/// Whether GPT-2 writes `byte` as itself: printable ASCII and Latin-1, but not the space or the soft hyphen.
fn is_printable(byte: u8) -> bool {
    matches!(byte, 0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF)
}

/// The printable character GPT-2's files spell `byte` with (its `bytes_to_unicode`): printable ASCII and Latin-1
/// bytes as themselves, the other 68 (control bytes, the space, DEL, ...) in byte order as the characters from
/// U+0100 on, so that the space is `Ġ` (U+0120) and the newline `Ċ` (U+010A).
///
/// ```
/// use tokens::bpe::byte_to_unicode;
/// assert_eq!([b'a', b' ', b'\n', 0xAD].map(byte_to_unicode), ['a', 'Ġ', 'Ċ', 'Ń']);
/// ```
pub fn byte_to_unicode(byte: u8) -> char {
    if is_printable(byte) {
        return char::from(byte);
    }
    let earlier_unprintable = (0..byte).filter(|&b| !is_printable(b)).count() as u32;
    char::from_u32(0x100 + earlier_unprintable).expect("U+0100 to U+0143 are characters")
}

/// The order in which equally frequent pairs are merged: the smaller key first.
///
/// Any fixed order gives a valid BPE; this one is GPT-2's. Its trainers number the byte tokens in the order of
/// their [`byte_to_unicode`] characters, so the printable bytes come first, then the rest, then the merged tokens
/// in the order they were learned. Breaking ties the same way makes our merges identical to Hugging Face's.
fn tie_break_key(id: u32) -> (bool, bool, u32) {
    let printable = u8::try_from(id).is_ok_and(is_printable);
    (id >= BYTE_TOKENS as u32, !printable, id)
}

// ANCHOR: merge_pair
/// Replaces every non-overlapping occurrence of `pair`, scanning left to right, by `new_id`.
fn merge_pair(symbols: &mut Vec<u32>, (a, b): (u32, u32), new_id: u32) {
    let (mut read, mut write) = (0, 0);
    while read < symbols.len() {
        if read + 1 < symbols.len() && symbols[read] == a && symbols[read + 1] == b {
            symbols[write] = new_id;
            read += 2;
        } else {
            symbols[write] = symbols[read];
            read += 1;
        }
        write += 1;
    }
    symbols.truncate(write);
}
// ANCHOR_END: merge_pair

/// Cuts text into the pieces GPT-2's pre-tokenizer makes, written out by hand instead of with its regex
///
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
///
/// that is: English contractions; a run of letters, of digits, or of other symbols, each with at most one leading
/// space; and runs of whitespace, leaving the last space of a run to the word after it. The pieces concatenate
/// back to `text`. (Letters and digits are Rust's `char::is_alphabetic` and `is_numeric`, which agree with
/// `\p{L}` and `\p{N}` on everything but a few rare code points.)
///
/// ```
/// let pieces = tokens::bpe::pretokenize("I'll say  it: 42 times!\n");
/// assert_eq!(pieces, ["I", "'ll", " say", " ", " it", ":", " 42", " times", "!", "\n"]);
/// ```
pub fn pretokenize(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (piece, tail) = rest.split_at(piece_len(rest));
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CharClass {
    Letter,
    Digit,
    Space,
    Other,
}

fn class_of(ch: char) -> CharClass {
    if ch.is_alphabetic() {
        CharClass::Letter
    } else if ch.is_numeric() {
        CharClass::Digit
    } else if ch.is_whitespace() {
        CharClass::Space
    } else {
        CharClass::Other
    }
}

/// Byte length of the longest prefix of `s` whose characters all have class `class`.
fn run_len(s: &str, class: CharClass) -> usize {
    s.char_indices()
        .find(|&(_, ch)| class_of(ch) != class)
        .map_or(s.len(), |(at, _)| at)
}

// ANCHOR: piece_len
/// Byte length of the pre-token that starts `s` (which is not empty).
fn piece_len(s: &str) -> usize {
    const CONTRACTIONS: [&str; 7] = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];
    if let Some(contraction) = CONTRACTIONS.iter().find(|c| s.starts_with(**c)) {
        return contraction.len();
    }
    // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: one optional space, then a run of one class.
    let word_start = usize::from(s.starts_with(' '));
    if let Some(first) = s[word_start..].chars().next()
        && class_of(first) != CharClass::Space
    {
        return word_start + run_len(&s[word_start..], class_of(first));
    }
    // `\s+(?!\S)|\s+`: whitespace up to the end, or up to but not including the last whitespace character before a
    // word (which then starts the word), but never nothing.
    let run = run_len(s, CharClass::Space);
    if run == s.len() {
        return run;
    }
    let last_len = s[..run].chars().next_back().map_or(0, char::len_utf8);
    if run > last_len { run - last_len } else { run }
}
// ANCHOR_END: piece_len
