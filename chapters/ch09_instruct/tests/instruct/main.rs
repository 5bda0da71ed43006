//! Chapter 9's pieces: the examples read and checked, the split, the Alpaca prompt, the collate step by hand on two
//! examples, and the masked loss against PyTorch's `cross_entropy(ignore_index=-100)`; the synthetic set in its own
//! module. One test binary for the chapter: each links burn.

mod cli;
mod finetune;
mod synthetic;
mod tokenize;

use burn::prelude::*;
use common::testing::{backends, max_abs_diff, values};
use instruct::{
    CollateError, Example, IGNORE, InstructionDataError, TokenizedExample, collate, format_prompt,
    load_instruction_data, masked_cross_entropy, parse_examples, split,
};
use proptest::prelude::*;
use serde::Deserialize;

fn example(i: usize) -> Example {
    Example {
        instruction: format!("instruction {i}"),
        input: String::new(),
        output: format!("output {i}"),
    }
}

#[test]
fn examples_are_read_with_an_optional_input() {
    let json = r#"[
        {"instruction": "Convert 45 kilometers to meters.", "input": "", "output": "45 kilometers is 45000 meters."},
        {"instruction": "Identify the correct spelling of the following word.", "output": "The correct spelling is 'Occasion.'"}
    ]"#;
    let examples = parse_examples(json, "two.json").unwrap();
    assert_eq!(examples.len(), 2);
    assert_eq!(examples[1].input, "");
    assert_eq!(examples[0].output, "45 kilometers is 45000 meters.");
}

#[test]
fn a_malformed_example_is_an_error_naming_its_index() {
    let with = |third: &str| {
        format!(r#"[{{"instruction": "a", "output": "b"}}, {{"instruction": "c", "output": "d"}}, {third}]"#)
    };
    for (third, problem) in [
        (r#"{"instruction": "e"}"#, "missing field `output`"),
        (r#"{"instruction": "e", "output": 3}"#, "invalid type"),
        (r#"{"instruction": " ", "output": "f"}"#, "has an empty instruction"),
        (r#"{"instruction": "e", "output": ""}"#, "has an empty output"),
        (
            r#"{"instruction": "e", "output": "f", "answer": "g"}"#,
            "unknown field `answer`",
        ),
        (r#""just text""#, "invalid type"),
    ] {
        let error = parse_examples(&with(third), "data.json").unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, InstructionDataError::Malformed { index: 2, .. }) && message.contains(problem),
            "{third}: {message}"
        );
        assert!(message.contains("data.json: example 2 (counting from 0)"), "{message}");
    }
    let not_an_array = parse_examples(r#"{"instruction": "a", "output": "b"}"#, "data.json").unwrap_err();
    assert!(
        matches!(not_an_array, InstructionDataError::NotAnArray { .. }),
        "{not_an_array}"
    );
    let empty = parse_examples("[]", "data.json").unwrap_err();
    assert_eq!(empty.to_string(), "data.json holds no examples");
}

#[test]
fn the_split_is_raschkas_in_file_order_or_shuffled_by_a_seed() {
    let examples: Vec<Example> = (0..1100).map(example).collect();
    let his = split(&examples, None);
    assert_eq!((his.train.len(), his.val.len(), his.test.len()), (935, 55, 110));
    // His order: training first, then test, then validation.
    assert_eq!(his.train, examples[..935]);
    assert_eq!(his.test, examples[935..1045]);
    assert_eq!(his.val, examples[1045..]);
    let shuffled = split(&examples, Some(1));
    assert_eq!(shuffled, split(&examples, Some(1)), "a seed gives the same split");
    assert_ne!(shuffled.train, his.train);
    assert_ne!(shuffled.test, split(&examples, Some(2)).test);
    let mut all: Vec<Example> = [shuffled.train, shuffled.val, shuffled.test].concat();
    all.sort_by_key(|e| e.output.clone());
    let mut expected = examples.clone();
    expected.sort_by_key(|e| e.output.clone());
    assert_eq!(all, expected, "the splits are disjoint and cover every example");
}

#[test]
fn the_prompt_is_the_alpaca_format() {
    let preamble =
        "Below is an instruction that describes a task. Write a response that appropriately completes the request.";
    assert_eq!(
        format_prompt("Rewrite the sentence in passive voice.", "The cat chased the mouse."),
        format!(
            "{preamble}\n\n### Instruction:\nRewrite the sentence in passive voice.\n\n### Input:\nThe cat chased the \
             mouse.\n\n### Response:\n"
        )
    );
    assert_eq!(
        format_prompt("Name a primary color.", ""),
        format!("{preamble}\n\n### Instruction:\nName a primary color.\n\n### Response:\n")
    );
}

/// Two examples by hand, end-of-text 0: (prompt 1 2 3, response 4 5) is s = 1 2 3 4 5 0, six tokens; (prompt 6 7,
/// response 8) is s = 6 7 8 0, four. Windows of 5: inputs s_0..s_4 padded with 0, targets s_1..s_5 padded with
/// -100; with the prompt masked, the first example's targets 2 3 and the second's 7 are -100 as well.
#[test]
fn collate_by_hand_on_two_examples() {
    let examples = [
        TokenizedExample {
            prompt: vec![1, 2, 3],
            response: vec![4, 5],
        },
        TokenizedExample {
            prompt: vec![6, 7],
            response: vec![8],
        },
    ];
    let batch = collate(&examples, 0, false, 16).unwrap();
    assert_eq!(batch.shape, [2, 5]);
    assert_eq!(batch.inputs, [1, 2, 3, 4, 5, /**/ 6, 7, 8, 0, 0]);
    assert_eq!(batch.targets, [2, 3, 4, 5, 0, /**/ 7, 8, 0, IGNORE, IGNORE]);
    let masked = collate(&examples, 0, true, 16).unwrap();
    assert_eq!(masked.inputs, batch.inputs);
    assert_eq!(
        masked.targets,
        [IGNORE, IGNORE, 4, 5, 0, /**/ IGNORE, 8, 0, IGNORE, IGNORE]
    );
    // A window of exactly the context fits; one token more does not.
    assert!(collate(&examples, 0, false, 5).is_ok());
    let too_long = collate(&examples, 0, false, 4).unwrap_err();
    assert_eq!(
        too_long,
        CollateError::TooLong {
            index: 0,
            window: 5,
            context: 4
        }
    );
    assert!(
        too_long.to_string().contains("past the model's context of 4"),
        "{too_long}"
    );
    assert_eq!(collate(&[], 0, false, 4).unwrap_err(), CollateError::Empty);
}

#[derive(Deserialize)]
struct Fixture {
    shape: [usize; 3],
    logits: Vec<f64>,
    targets: Vec<i64>,
    loss: f64,
    gradient: Vec<f64>,
}

/// The masked loss and its gradient are PyTorch's `cross_entropy(ignore_index=-100)` on `fixtures/masked_loss.json`
/// (three rows: a masked prompt, padding, a single target), on both backends.
#[test]
fn the_masked_loss_and_its_gradient_are_pytorchs() {
    let fixture: Fixture = serde_json::from_str(include_str!("../../fixtures/masked_loss.json")).unwrap();
    let [batch, t, vocab] = fixture.shape;
    let logits: Vec<f32> = fixture.logits.iter().map(|&x| x as f32).collect();
    for (name, device) in backends() {
        let device = &device.clone().autodiff();
        let logits = Tensor::<1>::from_floats(logits.as_slice(), device)
            .reshape([batch, t, vocab])
            .require_grad();
        let targets = Tensor::<2, Int>::from_data(TensorData::new(fixture.targets.clone(), [batch, t]), device);
        let loss = masked_cross_entropy(logits.clone(), targets);
        let value = values(loss.clone())[0];
        assert!(
            (value as f64 - fixture.loss).abs() < 1e-5,
            "{name}: {value} vs PyTorch's {}",
            fixture.loss
        );
        let gradient = values(logits.grad(&loss.backward()).unwrap());
        let expected: Vec<f32> = fixture.gradient.iter().map(|&g| g as f32).collect();
        let worst = max_abs_diff(&gradient, &expected);
        assert!(
            worst < 1e-6,
            "{name}: the gradient differs from PyTorch's by up to {worst:e}"
        );
        // An ignored position's logits get no gradient at all.
        for (position, &target) in fixture.targets.iter().enumerate() {
            if target == IGNORE {
                let row = &gradient[position * vocab..(position + 1) * vocab];
                assert!(
                    row.iter().all(|&g| g == 0.0),
                    "{name}: position {position} has gradient {row:?}"
                );
            }
        }
    }
}

/// With no target ignored, the masked loss is chapter 5's cross-entropy.
#[test]
fn without_ignored_targets_it_is_chapter_5s_loss() {
    for (name, device) in backends() {
        let logits = Tensor::<3>::random([2, 4, 9], burn::tensor::Distribution::Normal(0.0, 2.0), device);
        let targets = Tensor::<2, Int>::from_data(TensorData::new(vec![1i64, 8, 0, 3, 5, 5, 2, 7], [2, 4]), device);
        let ours = values(masked_cross_entropy(logits.clone(), targets.clone()))[0];
        let chapter_5 = values(gpt::training::cross_entropy(logits, targets))[0];
        assert!(
            (ours - chapter_5).abs() < 1e-6 * (1.0 + chapter_5.abs()),
            "{name}: {ours} vs {chapter_5}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever the logits at ignored positions are, the loss is the same: they add nothing to it.
    #[test]
    fn ignored_positions_add_nothing(seed in 0u64..1000, ignored in proptest::collection::vec(any::<bool>(), 8)) {
        prop_assume!(ignored.iter().any(|&i| !i));
        let device = &backends()[0].1;
        device.seed(seed);
        let logits = Tensor::<3>::random([2, 4, 5], burn::tensor::Distribution::Normal(0.0, 1.0), device);
        let noise = Tensor::<3>::random([2, 4, 5], burn::tensor::Distribution::Normal(0.0, 10.0), device);
        let keep: Vec<f32> = ignored.iter().map(|&i| if i { 0.0 } else { 1.0 }).collect();
        let keep = Tensor::<1>::from_floats(keep.as_slice(), device).reshape([2, 4, 1]);
        let changed = logits.clone() + noise * (keep.neg() + 1.0); // new logits at ignored positions only
        let targets: Vec<i64> = ignored.iter().enumerate().map(|(i, &ig)| if ig { IGNORE } else { (i % 5) as i64 }).collect();
        let targets = Tensor::<2, Int>::from_data(TensorData::new(targets, [2, 4]), device);
        let before = values(masked_cross_entropy(logits, targets.clone()))[0];
        let after = values(masked_cross_entropy(changed, targets))[0];
        prop_assert!((before - after).abs() < 1e-6, "{} vs {}", before, after);
    }
}

/// `--data PATH` reads the user's own file as it is; a malformed one is an error naming the file and the example.
#[test]
fn a_file_given_by_path_is_read_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.json");
    std::fs::write(&path, r#"[{"instruction": "Say hi.", "input": "", "output": "Hi."}]"#).unwrap();
    let examples = load_instruction_data(Some(&path)).unwrap();
    assert_eq!(
        examples,
        [Example {
            instruction: "Say hi.".into(),
            input: String::new(),
            output: "Hi.".into()
        }]
    );
    std::fs::write(&path, r#"[{"instruction": "Say hi.", "input": ""}]"#).unwrap();
    let error = load_instruction_data(Some(&path)).unwrap_err().to_string();
    assert!(
        error.contains("mine.json: example 0 (counting from 0) missing field `output`"),
        "{error}"
    );
    let missing = load_instruction_data(Some(&dir.path().join("nope.json")))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("no such file"), "{missing}");
}

/// The book's diagram of a collated batch is what `draw_batch_diagram` draws.
#[test]
fn the_batch_diagram_is_up_to_date() {
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book/src/figures/ch09_batch.svg");
    common::figures::assert_figure_up_to_date(&committed, |path| {
        instruct::plots::write_batch_diagram_svg(path).unwrap()
    });
}
