//! The command line, run as a user runs it, offline, on a tiny chapter 5 run and a small file in Raschka's format:
//! `finetune` (stopped, then resumed), `eval` writing the responses for a judge, `chat` answering lines on stdin;
//! and the mistakes a user makes, each an exit code 1 (an error from `main`; a panic would be 101) with a message
//! naming the problem.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::testing::Outcome;
use instruct::Example;
use instruct::evaluate::ResponseRecord;

use crate::finetune::{chapter5_run, handful};

fn instruct(args: &[&str]) -> Outcome {
    run_with_input(args, "")
}

fn run_with_input(args: &[&str], stdin: &str) -> Outcome {
    let mut child = Command::new(env!("CARGO_BIN_EXE_instruct"))
        .args(args)
        .args(["--device", "cpu"])
        .env("RUST_BACKTRACE", "0")
        .env("LLM_OFFLINE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap().into()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// 40 examples in the format of Raschka's `instruction-data.json`: the handful, each ten times.
fn small_data(dir: &Path) -> String {
    let examples: Vec<Example> = (0..10).flat_map(|_| handful()).collect();
    let file = dir.join("instructions.json");
    std::fs::write(&file, serde_json::to_string(&examples).unwrap()).unwrap();
    path(&file).to_string()
}

#[test]
fn finetune_stop_resume_eval_and_chat() {
    let dir = tempfile::tempdir().unwrap();
    let (data, run) = (
        small_data(dir.path()),
        chapter5_run(&dir.path().join("gpt"), &handful()),
    );
    let out = dir.path().join("instructed");
    let finetune = ["finetune", "--from", path(&run), "--data", &data, "--out", path(&out)];
    let small = ["--epochs", "2", "--batch-size", "4", "--max-new-tokens", "8"];
    let stopped = instruct(&[&finetune[..], &small, &["--max-iters", "3"]].concat());
    stopped.succeeded();
    assert!(stopped.stdout.contains("stopped at step 3 of 18"), "{}", stopped.stdout);
    // 34 training and 2 validation examples: 9 steps an epoch.
    assert!(
        stopped.stdout.contains("34 training and 2 validation examples"),
        "{}",
        stopped.stdout
    );
    // A resumed run reads the data it was started on; another file is refused.
    instruct(&["finetune", "--out", path(&out), "--resume", "--data", path(&run)]).failed(1, &["is not the file"]);
    let resumed = instruct(&["finetune", "--out", path(&out), "--resume", "--max-new-tokens", "8"]);
    resumed.succeeded();
    assert!(resumed.stdout.contains("resuming"), "{}", resumed.stdout);
    assert!(
        resumed.stdout.contains("test split (4 examples): ROUGE-L F1"),
        "{}",
        resumed.stdout
    );
    let records: Vec<ResponseRecord> =
        serde_json::from_str(&std::fs::read_to_string(out.join("test-responses.json")).unwrap()).unwrap();
    assert_eq!(records.len(), 4);
    assert!(
        records
            .iter()
            .all(|r| !r.instruction.is_empty() && !r.output.is_empty())
    );

    instruct(&["finetune", "--out", path(&out), "--resume"]).failed(1, &["is finished", "instruct eval"]);
    let responses = dir.path().join("again.json");
    let eval = [
        "eval",
        "--checkpoint",
        path(&out),
        "--data",
        &data,
        "--max-new-tokens",
        "8",
    ];
    instruct(&[&eval[..], &["--responses", path(&responses)]].concat()).succeeded();
    let again: Vec<ResponseRecord> = serde_json::from_str(&std::fs::read_to_string(&responses).unwrap()).unwrap();
    assert_eq!(again, records, "greedy answers are the same every time");

    let chat = run_with_input(
        &["chat", "--checkpoint", path(&out), "--max-new-tokens", "8"],
        "Say hello.\nReverse the word. | stone\n\n",
    );
    chat.succeeded();
    assert_eq!(
        chat.stderr.matches("> ").count(),
        3,
        "two answers, then the empty line ends: {}",
        chat.stderr
    );
}

#[test]
fn bad_input_is_an_error_that_names_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let (data, run) = (
        small_data(dir.path()),
        chapter5_run(&dir.path().join("gpt"), &handful()),
    );
    let missing = dir.path().join("missing");
    let out = dir.path().join("out");
    let finetune = ["finetune", "--data", &data, "--out", path(&out)];
    instruct(&[&finetune[..], &["--from", path(&missing)]].concat()).failed(
        1,
        &["is not a gpt backbone", "--config chapters/ch09_instruct/pretrain.json"],
    );
    instruct(&["eval", "--checkpoint", path(&run), "--data", &data])
        .failed(1, &["not an instruction-tuned model's checkpoint", "chapter 5's GPT"]);
    instruct(&[&finetune[..], &["--resume"]].concat()).failed(1, &["no checkpoint in"]);
    let broken = dir.path().join("broken.json");
    std::fs::write(
        &broken,
        r#"[{"instruction": "x", "output": "y"}, {"instruction": "x"}]"#,
    )
    .unwrap();
    instruct(&[
        "finetune",
        "--from",
        path(&run),
        "--data",
        path(&broken),
        "--out",
        path(&out),
    ])
    .failed(1, &["example 1"]);
    for (flag, value) in [
        ("--epochs", "0"),
        ("--batch-size", "0"),
        ("--lr", "-1"),
        ("--max-new-tokens", "0"),
    ] {
        let flag_and_value = format!("{flag}={value}");
        let outcome = instruct(&[&finetune[..], &["--from", path(&run), &flag_and_value]].concat());
        outcome.failed(2, &[flag]);
    }
}
