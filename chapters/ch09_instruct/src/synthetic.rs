//! A synthetic instruction set whose answers a program checks exactly: seven families of instructions (reverse a
//! word, upper-case a phrase, count a letter, add two numbers, write a number in digits, sort three words, give an
//! antonym), each asked in four phrasings. Generated from a seed; what a model is tested on is held out from what
//! it trains on at three levels: new items, a new phrasing of a known instruction, and a whole new family.

use common::rng::SplitMix64;
use serde::{Deserialize, Serialize};
use transformer::data::number_to_words;

use crate::data::Example;

/// The instruction families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Reverse,
    Uppercase,
    CountLetter,
    Add,
    NumberInDigits,
    SortWords,
    Antonym,
}

impl Family {
    pub const ALL: [Family; 7] = [
        Family::Reverse,
        Family::Uppercase,
        Family::CountLetter,
        Family::Add,
        Family::NumberInDigits,
        Family::SortWords,
        Family::Antonym,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Family::Reverse => "reverse a word",
            Family::Uppercase => "upper-case a phrase",
            Family::CountLetter => "count a letter",
            Family::Add => "add two numbers",
            Family::NumberInDigits => "a number in digits",
            Family::SortWords => "sort three words",
            Family::Antonym => "give an antonym",
        }
    }

    /// The family's four phrasings; `{letter}` stands for the letter to count.
    fn phrasings(self) -> [&'static str; PHRASINGS] {
        match self {
            Family::Reverse => [
                "Reverse the word.",
                "Write the word backwards.",
                "Spell the given word from its last letter to its first.",
                "What is this word read from right to left?",
            ],
            Family::Uppercase => [
                "Convert the phrase to upper case.",
                "Write the phrase in capital letters.",
                "Rewrite the text using only uppercase letters.",
                "Turn every letter of the phrase into a capital.",
            ],
            Family::CountLetter => [
                "Count how many times the letter '{letter}' appears in the word.",
                "How many '{letter}'s are in the word?",
                "Give the number of occurrences of '{letter}' in the word.",
                "In the word below, how often does the letter '{letter}' occur?",
            ],
            Family::Add => [
                "Add the two numbers.",
                "What is the sum of the two numbers?",
                "Compute the total of the numbers.",
                "Find the result of adding these numbers together.",
            ],
            Family::NumberInDigits => [
                "Write the number in digits.",
                "Convert the number from words to digits.",
                "Give the numeral for the number written in words.",
                "Express this number using digits instead of words.",
            ],
            Family::SortWords => [
                "Sort the words in alphabetical order.",
                "Put the three words in alphabetical order.",
                "Arrange the words alphabetically.",
                "List these words from A to Z.",
            ],
            Family::Antonym => [
                "Give the antonym of the word.",
                "What is the opposite of the word?",
                "Write a word that means the opposite.",
                "Name the word with the contrary meaning.",
            ],
        }
    }
}

/// Phrasings per family; the last one is held out of training.
pub const PHRASINGS: usize = 4;

/// Words to reverse, upper-case, count letters in and sort: short, common, lower case.
const WORDS: [&str; 60] = [
    "apple", "river", "garden", "window", "silver", "planet", "candle", "forest", "button", "pencil", "butter",
    "rocket", "monkey", "basket", "island", "letter", "summer", "winter", "castle", "bottle", "shadow", "little",
    "yellow", "purple", "orange", "banana", "cherry", "lemon", "melon", "grape", "tiger", "zebra", "horse", "eagle",
    "otter", "mouse", "table", "chair", "spoon", "plate", "cloud", "storm", "beach", "stone", "bread", "honey",
    "music", "dance", "story", "paper", "queen", "knight", "dragon", "wizard", "pirate", "sailor", "farmer", "doctor",
    "artist", "singer",
];

/// Pairs of opposites, each asked both ways.
pub const ANTONYMS: [(&str, &str); 30] = [
    ("hot", "cold"),
    ("big", "small"),
    ("fast", "slow"),
    ("happy", "sad"),
    ("light", "dark"),
    ("up", "down"),
    ("open", "closed"),
    ("early", "late"),
    ("full", "empty"),
    ("hard", "soft"),
    ("high", "low"),
    ("rich", "poor"),
    ("young", "old"),
    ("strong", "weak"),
    ("wet", "dry"),
    ("loud", "quiet"),
    ("clean", "dirty"),
    ("thick", "thin"),
    ("long", "short"),
    ("sharp", "dull"),
    ("brave", "afraid"),
    ("near", "far"),
    ("wide", "narrow"),
    ("true", "false"),
    ("begin", "end"),
    ("win", "lose"),
    ("buy", "sell"),
    ("push", "pull"),
    ("give", "take"),
    ("arrive", "leave"),
];

/// One synthetic example: the family and phrasing it was made from, with the example itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticExample {
    pub family: Family,
    pub phrasing: usize,
    pub example: Example,
}

/// The set, split by what is held out.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticSet {
    /// The trained families in their first three phrasings, on training items.
    pub train: Vec<SyntheticExample>,
    /// The same families and phrasings on items never trained on.
    pub new_items: Vec<SyntheticExample>,
    /// The trained families in their held-out fourth phrasing, on items never trained on.
    pub new_phrasings: Vec<SyntheticExample>,
    /// The held-out family in all its phrasings.
    pub new_family: Vec<SyntheticExample>,
}

// ANCHOR: generate
/// `per_family` training examples of every family but `held_out_family`, and a quarter as many of each held-out
/// kind, from `seed`. Items (words, numbers, antonym pairs) are split first: a fifth of each pool is kept for the
/// test sets and never appears in training.
pub fn generate(seed: u64, per_family: usize, held_out_family: Family) -> SyntheticSet {
    let mut rng = SplitMix64::new(seed);
    let pools = ItemPools::split(&mut rng);
    let per_test = per_family.div_ceil(4);
    let mut set = SyntheticSet {
        train: Vec::new(),
        new_items: Vec::new(),
        new_phrasings: Vec::new(),
        new_family: Vec::new(),
    };
    for family in Family::ALL {
        if family == held_out_family {
            for i in 0..per_test {
                let phrasing = i % PHRASINGS;
                set.new_family.push(make(family, phrasing, &pools.test, &mut rng));
            }
            continue;
        }
        for _ in 0..per_family {
            let phrasing = rng.below(PHRASINGS - 1);
            set.train.push(make(family, phrasing, &pools.train, &mut rng));
        }
        for _ in 0..per_test {
            let phrasing = rng.below(PHRASINGS - 1);
            set.new_items.push(make(family, phrasing, &pools.test, &mut rng));
            set.new_phrasings
                .push(make(family, PHRASINGS - 1, &pools.test, &mut rng));
        }
    }
    set
}
// ANCHOR_END: generate

/// The items of the training side or of the test side.
#[derive(Debug, Clone)]
struct Items {
    words: Vec<&'static str>,
    antonyms: Vec<(&'static str, &'static str)>,
    /// Numbers 0..1000, as words to put in digits and as the addends 0..100.
    numbers: Vec<u32>,
}

struct ItemPools {
    train: Items,
    test: Items,
}

impl ItemPools {
    /// Every pool shuffled and cut: four fifths for training, one fifth for the tests.
    fn split(rng: &mut SplitMix64) -> Self {
        fn cut<T: Clone>(items: &[T], rng: &mut SplitMix64) -> (Vec<T>, Vec<T>) {
            let mut items = items.to_vec();
            rng.shuffle(&mut items);
            let test = items.split_off(items.len() * 4 / 5);
            (items, test)
        }
        let (train_words, test_words) = cut(&WORDS, rng);
        let (train_antonyms, test_antonyms) = cut(&ANTONYMS, rng);
        let (train_numbers, test_numbers) = cut(&(0..1000).collect::<Vec<u32>>(), rng);
        ItemPools {
            train: Items {
                words: train_words,
                antonyms: train_antonyms,
                numbers: train_numbers,
            },
            test: Items {
                words: test_words,
                antonyms: test_antonyms,
                numbers: test_numbers,
            },
        }
    }
}

/// One example of `family` in `phrasing` on items drawn from `items`.
fn make(family: Family, phrasing: usize, items: &Items, rng: &mut SplitMix64) -> SyntheticExample {
    let mut pick = |pool_len: usize| rng.below(pool_len);
    let word = |i: usize| items.words[i];
    let mut instruction = family.phrasings()[phrasing].to_string();
    let (input, output) = match family {
        Family::Reverse => {
            let w = word(pick(items.words.len()));
            (w.to_string(), w.chars().rev().collect())
        }
        Family::Uppercase => {
            let (a, b) = (word(pick(items.words.len())), word(pick(items.words.len())));
            let phrase = format!("{a} {b}");
            (phrase.clone(), phrase.to_uppercase())
        }
        Family::CountLetter => {
            let w = word(pick(items.words.len()));
            let letters: Vec<char> = w.chars().collect();
            let letter = letters[pick(letters.len())];
            instruction = instruction.replace("{letter}", &letter.to_string());
            (w.to_string(), w.chars().filter(|&c| c == letter).count().to_string())
        }
        Family::Add => {
            // Addends below 100 from the side's numbers, so that a test sum's addends were never seen as a pair.
            let small: Vec<u32> = items.numbers.iter().copied().filter(|&n| n < 100).collect();
            let (a, b) = (small[pick(small.len())], small[pick(small.len())]);
            (format!("{a} and {b}"), (a + b).to_string())
        }
        Family::NumberInDigits => {
            let n = items.numbers[pick(items.numbers.len())];
            (number_to_words(n), n.to_string())
        }
        Family::SortWords => {
            let mut words: Vec<&str> = Vec::new();
            while words.len() < 3 {
                let w = word(pick(items.words.len()));
                if !words.contains(&w) {
                    words.push(w);
                }
            }
            let input = words.join(" ");
            words.sort();
            (input, words.join(" "))
        }
        Family::Antonym => {
            let (a, b) = items.antonyms[pick(items.antonyms.len())];
            // Each pair both ways.
            if pick(2) == 0 {
                (a.to_string(), b.to_string())
            } else {
                (b.to_string(), a.to_string())
            }
        }
    };
    SyntheticExample {
        family,
        phrasing,
        example: Example {
            instruction,
            input,
            output,
        },
    }
}

/// Whether `answer` is exactly the expected output of `example` (surrounding white space aside).
pub fn is_correct(example: &SyntheticExample, answer: &str) -> bool {
    answer.trim() == example.example.output
}
