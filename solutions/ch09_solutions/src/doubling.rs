//! Exercise 2: a new family of instructions, "double the number", in four phrasings (the fourth held out), on
//! numbers split as the chapter's items are: four fifths for training, one fifth never trained on.

use common::rng::SplitMix64;
use instruct::Example;

const PHRASINGS: [&str; 4] = [
    "Double the number.",
    "What is twice this number?",
    "Multiply the number by two.",
    "Give the number that is two times the one below.",
];

/// `per_split` training examples (numbers 0..500, first three phrasings) and as many test examples (numbers never
/// trained on, the fourth phrasing), from `seed`.
pub fn doubling_examples(seed: u64, per_split: usize) -> (Vec<Example>, Vec<Example>) {
    let mut rng = SplitMix64::new(seed);
    let mut numbers: Vec<u32> = (0..500).collect();
    rng.shuffle(&mut numbers);
    let test_numbers = numbers.split_off(numbers.len() * 4 / 5);
    let mut make = |pool: &[u32], phrasing: usize| {
        let n = pool[rng.below(pool.len())];
        Example {
            instruction: PHRASINGS[phrasing].to_string(),
            input: n.to_string(),
            output: (2 * n).to_string(),
        }
    };
    let train = (0..per_split).map(|i| make(&numbers, i % 3)).collect();
    let test = (0..per_split).map(|_| make(&test_numbers, 3)).collect();
    (train, test)
}

/// Whether `answer` is twice the example's number.
pub fn is_double(example: &Example, answer: &str) -> bool {
    let n: Option<u64> = example.input.trim().parse().ok();
    n.is_some_and(|n| answer.trim() == (2 * n).to_string())
}
