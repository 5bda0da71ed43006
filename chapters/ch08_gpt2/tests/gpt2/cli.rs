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

/// Degenerate counts are refused where clap reads them, naming the flag and its range (before, `--stride 0`
/// silently became 1, `--lines 0` printed a ROUGE of 0, `--new-tokens 0` a rate of nothing); `sample --top-k 0`
/// turns the filter off, as chapter 5's `sample` does, instead of an error that names itself as the way out.
#[test]
fn degenerate_counts_are_refused_and_top_k_0_means_off() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("text.txt");
    std::fs::write(&text, "First Citizen: hear me speak.\n").unwrap();
    let text = text.display().to_string();
    gpt2(&["perplexity", "--model", &tiny_a(), "--data", &text, "--stride", "0"])
        .failed(2, &["--stride", "at least 1"]);
    gpt2(&["compare", "--run", &text, "--lines", "0"]).failed(2, &["--lines", "at least 1"]);
    gpt2(&["bench", "--new-tokens", "0"]).failed(2, &["--new-tokens", "at least 1"]);
    let sample = [
        "sample",
        "--model",
        &tiny_a(),
        "--prompt",
        "First",
        "--max-new-tokens",
        "3",
        "--top-k",
        "0",
    ];
    gpt2(&sample).succeeded();
}

/// A model folder of another kind is named as such (its config.json's model_type), not as a weight it lacks, and a
/// folder without config.json says which file is missing.
#[test]
fn another_kind_of_model_folder_is_named_as_such() {
    let bert = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ch06_bert/fixtures/tiny_bert_mlm");
    let bert = bert.display().to_string();
    gpt2(&["sample", "--model", &bert, "--prompt", "a"]).failed(1, &["holds a \"bert\" model", "model_type"]);
    let empty = tempfile::tempdir().unwrap();
    let empty = empty.path().display().to_string();
    gpt2(&["sample", "--model", &empty, "--prompt", "a"]).failed(1, &["has no config.json"]);
}

/// Every flag an error names is one the failing `gpt2` command accepts: a folder that is not a model's, a text
/// that is not there, runs that are not chapter 5's.
#[test]
fn every_flag_an_error_names_exists() {
    let program = env!("CARGO_BIN_EXE_gpt2");
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing").display().to_string();
    let errors = [
        ("sample", gpt2(&["sample", "--model", &missing, "--prompt", "a"])),
        (
            "perplexity",
            gpt2(&["perplexity", "--model", &tiny_a(), "--data", &missing]),
        ),
        ("compare", gpt2(&["compare", "--run", &missing])),
        (
            "sample",
            gpt2(&["sample", "--model", &tiny_a(), "--prompt", "a", "--top-p", "2"]),
        ),
    ];
    for (subcommand, error) in &errors {
        assert_ne!(error.code, Some(0), "{}", error.stdout);
        error.names_only_flags_of(program, subcommand);
    }
    // Another chapter's run is named as such, not called damaged.
    let classifier = dir.path().join("classifier");
    std::fs::create_dir_all(classifier.join("checkpoint")).unwrap();
    let state = r#"{"kind": "chapter 7's classifier (`classify train`)", "step": 3}"#;
    std::fs::write(classifier.join("checkpoint").join("state.json"), state).unwrap();
    let other = gpt2(&["compare", "--run", &classifier.display().to_string()]);
    other.failed(
        1,
        &["holds a checkpoint of chapter 7's classifier", "not of chapter 5's GPT"],
    );
}
