//! Chapter 4's task: read a number written in English words, write it in digits.
//! "four hundred two thousand seventeen" → "402017". The answer is checkable, the data set is generated from a
//! seed, and a small Transformer learns it on a CPU in minutes.

use burn::prelude::*;
use common::rng::SplitMix64;

/// Padding, beginning and end of sequence: the first three ids of both vocabularies.
pub const PAD: usize = 0;
pub const BOS: usize = 1;
pub const EOS: usize = 2;
const SPECIALS: [&str; 3] = ["<pad>", "<bos>", "<eos>"];

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

/// Numbers of the task lie in `0..LARGEST_NUMBER`.
pub const LARGEST_NUMBER: u32 = 1_000_000;

// ANCHOR: number_to_words
/// `n < 1,000,000` in words, American style without "and" or hyphens: 342 → "three hundred forty two".
pub fn number_to_words(n: u32) -> String {
    assert!(n < LARGEST_NUMBER, "{n} is out of the task's range 0..{LARGEST_NUMBER}");
    fn below_thousand(n: u32, words: &mut Vec<&'static str>) {
        let (hundreds, rest) = (n / 100, n % 100);
        if hundreds > 0 {
            words.extend([ONES[hundreds as usize], "hundred"]);
        }
        match rest {
            0 => {}
            1..20 => words.push(ONES[rest as usize]),
            _ => {
                words.push(TENS[(rest / 10) as usize]);
                if rest % 10 > 0 {
                    words.push(ONES[(rest % 10) as usize]);
                }
            }
        }
    }
    if n == 0 {
        return ONES[0].to_string();
    }
    let mut words = Vec::new();
    if n >= 1000 {
        below_thousand(n / 1000, &mut words);
        words.push("thousand");
    }
    below_thousand(n % 1000, &mut words);
    words.join(" ")
}
// ANCHOR_END: number_to_words

/// A fixed list of tokens; a token's id is its index.
#[derive(Debug, Clone, PartialEq)]
pub struct Vocabulary {
    tokens: Vec<String>,
}

/// A token outside a [`Vocabulary`]: its text and the tokens the vocabulary knows (specials left out).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown token {token:?}: the vocabulary is {}", known.join(", "))]
pub struct UnknownToken {
    pub token: String,
    pub known: Vec<String>,
}

impl Vocabulary {
    /// The source side: the special tokens, then every word [`number_to_words`] uses.
    pub fn words() -> Self {
        let words = ONES.iter().chain(&TENS[2..]).chain(&["hundred", "thousand"]);
        Self {
            tokens: SPECIALS.iter().chain(words).map(|w| w.to_string()).collect(),
        }
    }

    /// The target side: the special tokens, then the ten digits.
    pub fn digits() -> Self {
        let digits = (0..10).map(|d| d.to_string());
        Self {
            tokens: SPECIALS.iter().map(|s| s.to_string()).chain(digits).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The id of `token`, or an error naming it and listing the vocabulary.
    pub fn id(&self, token: &str) -> Result<usize, UnknownToken> {
        self.tokens.iter().position(|t| t == token).ok_or_else(|| UnknownToken {
            token: token.to_string(),
            known: self.tokens[SPECIALS.len()..].to_vec(),
        })
    }

    /// The token of `id` (`"<unk>"` outside the vocabulary).
    pub fn token(&self, id: usize) -> &str {
        self.tokens.get(id).map_or("<unk>", String::as_str)
    }

    /// The text of `ids` up to the first EOS, without special tokens, joined by `separator`.
    pub fn decode(&self, ids: &[usize], separator: &str) -> String {
        ids.iter()
            .take_while(|&&id| id != EOS)
            .filter(|&&id| id >= SPECIALS.len() && id < self.tokens.len())
            .map(|&id| self.tokens[id].as_str())
            .collect::<Vec<_>>()
            .join(separator)
    }
}

/// One example: the number, its words as source ids (ending with EOS), its digits as target ids (without BOS/EOS).
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub number: u32,
    pub src: Vec<usize>,
    pub tgt: Vec<usize>,
}

impl Example {
    pub fn new(number: u32) -> Self {
        let (words, digits) = (Vocabulary::words(), Vocabulary::digits());
        let mut src: Vec<usize> = number_to_words(number)
            .split(' ')
            .map(|w| words.id(w).expect("a task word"))
            .collect();
        src.push(EOS);
        let tgt = number
            .to_string()
            .chars()
            .map(|d| digits.id(&d.to_string()).expect("a digit"))
            .collect();
        Self { number, src, tgt }
    }
}

/// The longest source (10 words + EOS, e.g. 777,777) and target (BOS + 6 digits, or 6 digits + EOS).
pub const MAX_SRC_LEN: usize = 11;
pub const MAX_TGT_LEN: usize = 7;

// ANCHOR: splits
/// Train, validation and test examples: disjoint sets of numbers drawn without replacement from
/// `0..LARGEST_NUMBER` with a seeded shuffle, so a test number has never been seen in training.
#[derive(Debug, Clone)]
pub struct Splits {
    pub train: Vec<Example>,
    pub val: Vec<Example>,
    pub test: Vec<Example>,
}

impl Splits {
    pub fn generate(seed: u64, n_train: usize, n_val: usize, n_test: usize) -> Self {
        assert!(
            n_train + n_val + n_test <= LARGEST_NUMBER as usize,
            "only {LARGEST_NUMBER} distinct numbers exist"
        );
        let mut numbers: Vec<u32> = (0..LARGEST_NUMBER).collect();
        SplitMix64::new(seed).shuffle(&mut numbers);
        let mut examples = numbers.into_iter().map(Example::new);
        Self {
            train: examples.by_ref().take(n_train).collect(),
            val: examples.by_ref().take(n_val).collect(),
            test: examples.take(n_test).collect(),
        }
    }
}
// ANCHOR_END: splits

// ANCHOR: batch
/// A padded batch for teacher forcing. The decoder reads `tgt_in = [BOS, d1, .., dn]` and is trained to output
/// `tgt_out = [d1, .., dn, EOS]`: at each position, the next token.
#[derive(Debug, Clone)]
pub struct Batch {
    /// `[batch, t_src]` source ids, padded with PAD.
    pub src: Tensor<2, Int>,
    /// `[batch, t_src]`, true at real source tokens.
    pub src_padding: Tensor<2, Bool>,
    /// `[batch, t_tgt]`: BOS then the digits, padded.
    pub tgt_in: Tensor<2, Int>,
    /// `[batch, t_tgt]`, true at real target positions.
    pub tgt_padding: Tensor<2, Bool>,
    /// `[batch, t_tgt]`: the digits then EOS, padded with PAD (which the loss ignores).
    pub tgt_out: Tensor<2, Int>,
}

impl Batch {
    pub fn new(examples: &[&Example], device: &Device) -> Self {
        let t_src = examples.iter().map(|e| e.src.len()).max().unwrap_or(1);
        let t_tgt = examples.iter().map(|e| e.tgt.len() + 1).max().unwrap_or(1);
        let pad = |ids: &mut Vec<i64>, len: usize| ids.resize(len, PAD as i64);
        let (mut src, mut tgt_in, mut tgt_out) = (Vec::new(), Vec::new(), Vec::new());
        for example in examples {
            let ids = |tokens: &[usize]| tokens.iter().map(|&t| t as i64).collect::<Vec<_>>();
            let mut s = ids(&example.src);
            let mut t_in = [vec![BOS as i64], ids(&example.tgt)].concat();
            let mut t_out = [ids(&example.tgt), vec![EOS as i64]].concat();
            pad(&mut s, t_src);
            pad(&mut t_in, t_tgt);
            pad(&mut t_out, t_tgt);
            src.extend(s);
            tgt_in.extend(t_in);
            tgt_out.extend(t_out);
        }
        let matrix =
            |ids: Vec<i64>, t: usize| Tensor::<1, Int>::from_ints(ids.as_slice(), device).reshape([examples.len(), t]);
        let (src, tgt_in) = (matrix(src, t_src), matrix(tgt_in, t_tgt));
        Self {
            src_padding: src.clone().not_equal_elem(PAD as i64),
            // BOS is never PAD, and every position after it up to the length is a real digit.
            tgt_padding: tgt_in.clone().not_equal_elem(PAD as i64),
            src,
            tgt_in,
            tgt_out: matrix(tgt_out, t_tgt),
        }
    }
}
// ANCHOR_END: batch
