//! The synthetic instruction set: deterministic per seed, every answer right, and what it tests on held out of
//! what it trains on (items, the fourth phrasing, a whole family).

use std::collections::HashSet;

use instruct::synthetic::{ANTONYMS, Family, PHRASINGS, SyntheticExample, generate, is_correct};
use transformer::data::number_to_words;

#[test]
fn a_seed_gives_one_set_and_another_seed_another() {
    let a = generate(1, 40, Family::SortWords);
    assert_eq!(a, generate(1, 40, Family::SortWords));
    assert_ne!(a.train, generate(2, 40, Family::SortWords).train);
    assert_eq!(a.train.len(), 6 * 40);
    assert_eq!(
        (a.new_items.len(), a.new_phrasings.len(), a.new_family.len()),
        (60, 60, 10)
    );
}

#[test]
fn every_answer_is_right() {
    let set = generate(3, 50, Family::Antonym);
    let all = [&set.train, &set.new_items, &set.new_phrasings, &set.new_family];
    for example in all.into_iter().flatten() {
        let (instruction, input, output) = (
            &example.example.instruction,
            &example.example.input,
            &example.example.output,
        );
        let right = match example.family {
            Family::Reverse => input.chars().rev().collect::<String>() == *output,
            Family::Uppercase => input.to_uppercase() == *output && input.split(' ').count() == 2,
            Family::CountLetter => {
                let letter = instruction.split('\'').nth(1).unwrap().chars().next().unwrap();
                input.contains(letter) && input.chars().filter(|&c| c == letter).count().to_string() == *output
            }
            Family::Add => {
                let (a, b) = input.split_once(" and ").unwrap();
                a.parse::<u32>().unwrap() + b.parse::<u32>().unwrap() == output.parse::<u32>().unwrap()
            }
            Family::NumberInDigits => number_to_words(output.parse().unwrap()) == *input,
            Family::SortWords => {
                let mut words: Vec<&str> = input.split(' ').collect();
                words.sort();
                words.join(" ") == *output && words.len() == 3
            }
            Family::Antonym => ANTONYMS
                .iter()
                .any(|&(a, b)| (a, b) == (input, output) || (b, a) == (input, output)),
        };
        assert!(right, "{example:?}");
        assert!(is_correct(example, &format!(" {output}\n")) && !is_correct(example, "nonsense"));
    }
}

/// The words (or numbers) an example is about.
fn items(example: &SyntheticExample) -> Vec<String> {
    match example.family {
        Family::NumberInDigits => vec![example.example.output.clone()],
        Family::Add => example.example.input.split(" and ").map(String::from).collect(),
        _ => example.example.input.split(' ').map(String::from).collect(),
    }
}

#[test]
fn what_it_tests_on_is_held_out_of_training() {
    for held_out in [Family::SortWords, Family::Reverse] {
        let set = generate(5, 200, held_out);
        assert!(
            set.train
                .iter()
                .all(|e| e.family != held_out && e.phrasing < PHRASINGS - 1)
        );
        assert!(
            set.new_items
                .iter()
                .all(|e| e.family != held_out && e.phrasing < PHRASINGS - 1)
        );
        assert!(set.new_phrasings.iter().all(|e| e.phrasing == PHRASINGS - 1));
        assert!(set.new_family.iter().all(|e| e.family == held_out));
        let phrasings: HashSet<usize> = set.new_family.iter().map(|e| e.phrasing).collect();
        assert_eq!(phrasings.len(), PHRASINGS, "the new family is asked in every phrasing");
        let trained_instructions: HashSet<&str> = set.train.iter().map(|e| e.example.instruction.as_str()).collect();
        for e in &set.new_phrasings {
            assert!(!trained_instructions.contains(e.example.instruction.as_str()), "{e:?}");
        }
        // No word or number of a test example was seen in training, in the same family.
        for family in Family::ALL {
            let seen: HashSet<String> = set
                .train
                .iter()
                .filter(|e| e.family == family)
                .flat_map(items)
                .collect();
            for e in set
                .new_items
                .iter()
                .chain(&set.new_phrasings)
                .filter(|e| e.family == family)
            {
                for item in items(e) {
                    assert!(!seen.contains(&item), "{family:?}: {item} of {e:?} was trained on");
                }
            }
        }
    }
}

/// The baseline without a model answers each family's most frequent training answer: counting a letter is "1" most
/// often, so its accuracy is the share of "1" among the new items; a reversed word never repeats an answer of
/// training (the test words are held out), so it scores nothing; nor does the held-out family.
#[test]
fn the_baseline_without_a_model_gives_each_familys_most_frequent_answer() {
    let [new_items, _, new_family] = instruct::experiment::majority_baseline(1);
    let set = instruct::experiment::synthetic_data(1).set;
    let counts: Vec<&SyntheticExample> = set
        .new_items
        .iter()
        .filter(|e| e.family == Family::CountLetter)
        .collect();
    let ones = counts.iter().filter(|e| e.example.output == "1").count();
    assert_eq!(new_items[&Family::CountLetter].correct, ones);
    assert_eq!(new_items[&Family::CountLetter].total, counts.len());
    assert_eq!(new_items[&Family::Reverse].correct, 0);
    assert!(new_family.values().all(|a| a.correct == 0));
}
