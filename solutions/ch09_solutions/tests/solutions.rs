//! The answers to chapter 9's exercises, checked: the prompt's share of the targets counted by hand, the doubling
//! family's answers and held-out numbers, and DPO's loss against its formula, with the policy's log-probabilities
//! of a response summed over its tokens alone.

use burn::prelude::*;
use ch09_solutions::{doubling_examples, dpo_loss, is_double, response_log_probability, target_shares};
use common::testing::{backends, values};
use gpt::GptConfig;
use instruct::{IGNORE, TokenizedExample, collate};
use proptest::prelude::*;

#[test]
fn the_prompts_share_of_the_targets_is_counted_as_by_hand() {
    // Prompts of 5 and 2 tokens, responses of 2 and 4: windows of 7 and 6 targets, of which the mask keeps the
    // response and the end-of-text token (3 and 5) and ignores the rest of the prompt (4 and 1).
    let examples = [
        TokenizedExample {
            prompt: vec![1, 2, 3, 4, 5],
            response: vec![6, 7],
        },
        TokenizedExample {
            prompt: vec![1, 2],
            response: vec![8, 9, 6, 7],
        },
    ];
    let shares = target_shares(&examples, 0, 16);
    assert_eq!((shares.prompt, shares.response), (5, 8));
    assert!((shares.prompt_share() - 5.0 / 13.0).abs() < 1e-12);
}

#[test]
fn the_doubling_family_is_right_and_tests_on_numbers_never_trained_on() {
    let (train, test) = doubling_examples(4, 200);
    assert_eq!((train.len(), test.len()), (200, 200));
    for example in train.iter().chain(&test) {
        assert!(is_double(example, &example.output), "{example:?}");
        assert!(!is_double(example, &format!("{}1", example.output)));
    }
    let trained: Vec<&str> = train.iter().map(|e| e.input.as_str()).collect();
    assert!(test.iter().all(|e| !trained.contains(&e.input.as_str())));
    assert!(test.iter().all(|e| e.instruction == test[0].instruction));
    assert!(train.iter().all(|e| e.instruction != test[0].instruction));
    assert_eq!(doubling_examples(4, 200), (train, test), "a seed gives one set");
}

proptest! {
    /// L = -log σ(β·margin), in f64 by hand; 0 margin (the policy is the reference) gives log 2.
    #[test]
    fn dpo_loss_is_its_formula(values in proptest::collection::vec(-20.0f32..0.0, 8), beta in 0.05f64..1.0) {
        let (_, device) = &backends()[0];
        let tensor = |i: usize| Tensor::<1>::from_floats([values[i], values[i + 4]], device);
        let loss = dpo_loss(tensor(0), tensor(1), tensor(2), tensor(3), beta).into_scalar::<f32>() as f64;
        let expected: f64 = (0..2)
            .map(|j| {
                let v = |i: usize| values[i + 4 * j] as f64;
                let margin = beta * ((v(0) - v(2)) - (v(1) - v(3)));
                (1.0 + (-margin).exp()).ln()
            })
            .sum::<f64>()
            / 2.0;
        prop_assert!((loss - expected).abs() < 1e-4 * expected.max(1.0), "{loss} vs {expected}");
        let same = dpo_loss(tensor(0), tensor(1), tensor(0), tensor(1), beta).into_scalar::<f32>() as f64;
        prop_assert!((same - std::f64::consts::LN_2).abs() < 1e-6);
    }
}

/// A response's log-probability is the sum of log p over its targets alone: the prompt's and the padding's add
/// nothing, on both backends.
#[test]
fn a_responses_log_probability_sums_its_own_tokens() {
    for (name, device) in backends() {
        let model = GptConfig::new(10)
            .with_block_size(8)
            .with_n_layer(1)
            .with_n_head(2)
            .with_n_embd(8)
            .init(device);
        let example = TokenizedExample {
            prompt: vec![1, 2, 3],
            response: vec![4, 5],
        };
        let short = TokenizedExample {
            prompt: vec![1],
            response: vec![6],
        };
        let batch = collate(&[example, short], 9, true, 8).unwrap();
        let (inputs, targets) = batch.tensors(device);
        let ours = values(response_log_probability(&model, inputs.clone(), targets));
        let log_p = values(burn::tensor::activation::log_softmax(model.forward(inputs), 2));
        let [_, t] = batch.shape;
        for row in 0..2 {
            let expected: f32 = (0..t)
                .filter(|&j| batch.targets[row * t + j] != IGNORE)
                .map(|j| log_p[(row * t + j) * 10 + batch.targets[row * t + j] as usize])
                .sum();
            assert!(
                (ours[row] - expected).abs() < 1e-5,
                "{name}: row {row}: {} vs {expected}",
                ours[row]
            );
        }
    }
}
