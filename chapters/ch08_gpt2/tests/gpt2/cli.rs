//! The command line: `sample` prints the prompt and the same greedy continuation as the library (and as
//! `transformers`), `perplexity` scores a file, and mistakes are errors that say what to do.

use std::path::Path;
use std::process::Command;

use common::testing::Outcome;
use gpt2::Gpt2Tokenizer;

fn gpt2(args: &[&str]) -> Outcome {
    Command::new(env!("CARGO_BIN_EXE_gpt2"))
        .args(args)
        .env("LLM_DEVICE", "cpu")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("the gpt2 binary runs")
        .into()
}

fn tiny_a() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/tiny_gpt2_a")
        .display()
        .to_string()
}

#[test]
fn sample_continues_greedily_as_transformers_does() {
    let fixture: serde_json::Value = serde_json::from_str(include_str!("../../fixtures/tiny_gpt2.json")).unwrap();
    let greedy: Vec<u32> = serde_json::from_value(fixture["a"]["greedy"].clone()).unwrap();
    let tokenizer = Gpt2Tokenizer::from_folder(Path::new(&tiny_a())).unwrap();
    let expected = format!("First Citizen:{}", tokenizer.decode(&greedy).unwrap());
    let outcome = gpt2(&[
        "sample",
        "--model",
        &tiny_a(),
        "--prompt",
        "First Citizen:",
        "--max-new-tokens",
        "20",
        "--temperature",
        "0",
    ]);
    outcome.succeeded();
    assert!(
        outcome.stdout.lines().any(|line| line == expected),
        "{expected:?} not in:\n{}",
        outcome.stdout
    );
    assert!(outcome.stdout.contains("20 tokens in"), "{}", outcome.stdout);
}

#[test]
fn perplexity_scores_a_file_and_mistakes_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("text.txt");
    std::fs::write(
        &text,
        "First Citizen: Before we proceed any further, hear me speak.\n".repeat(4),
    )
    .unwrap();
    let outcome = gpt2(&["perplexity", "--model", &tiny_a(), "--data", text.to_str().unwrap()]);
    outcome.succeeded();
    assert!(
        outcome.stdout.contains("(window 40, stride 20): mean NLL"),
        "{}",
        outcome.stdout
    );

    gpt2(&["sample", "--model", "no/such/folder", "--prompt", "hi"]).failed(1, &["no such folder", "--model DIR"]);
    gpt2(&["sample", "--model", &tiny_a(), "--prompt", ""]).failed(1, &["the prompt is empty"]);
    gpt2(&["perplexity", "--model", &tiny_a(), "--data", "missing.txt"]).failed(1, &["cannot read --data missing.txt"]);
    gpt2(&[
        "perplexity",
        "--model",
        &tiny_a(),
        "--data",
        text.to_str().unwrap(),
        "--stride",
        "41",
    ])
    .failed(1, &["the stride is 41; it must be between 1 and the context, 40"]);
}
