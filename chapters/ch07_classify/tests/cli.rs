//! The command line, run as a user runs it: `train` all-MiniLM-L6-v2 with LoRA for one epoch on a small
//! collection, `eval` and `predict` from its checkpoint, a one-row `grid`, and the mistakes a user makes, each an
//! exit code 1 (an error from `main`; a panic would be 101) with a message naming the problem.

use std::path::Path;
use std::process::Command;

use common::testing::Outcome;

fn classify(args: &[&str]) -> Outcome {
    Command::new(env!("CARGO_BIN_EXE_classify"))
        .args(args)
        .args(["--device", "cpu"])
        .env("RUST_BACKTRACE", "0")
        .env("LLM_OFFLINE", "1")
        .output()
        .unwrap()
        .into()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A collection of 40 messages in the real file's format, a quarter of them spam, and one of them twice.
fn small_collection(dir: &Path) -> String {
    let ham = [
        "ok see you at home",
        "sorry, running late",
        "did you eat?",
        "call me when you land",
    ];
    let spam = [
        "WIN a FREE prize now, call 08001234",
        "URGENT: claim your £500 cash, txt YES to 81010",
    ];
    let lines: String = (0..40)
        .map(|i| {
            if i % 4 == 3 {
                format!("spam\t{} #{i}\n", spam[i % 2])
            } else {
                format!("ham\t{} {i}\n", ham[i % 4])
            }
        })
        .collect();
    let file = dir.join("sms.tsv");
    std::fs::write(&file, lines + "ham\tok see you at home 0\n").unwrap();
    path(&file).to_string()
}

#[test]
fn train_then_eval_and_predict_from_the_checkpoint_and_a_one_row_grid() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_collection(dir.path());
    let out = dir.path().join("run");
    let common = ["--data", &data, "--epochs", "1"];
    let train = classify(
        &[
            &["train", "--backbone", "minilm", "--regime", "lora", "--out", path(&out)],
            &common[..],
        ]
        .concat(),
    );
    train.succeeded();
    for needle in [
        "data: 40 distinct messages (1 exact repeats removed); 28 training, 4 validation, 8 test (2 spam)",
        "74498 trainable parameters",
        "epoch 1: train loss",
        "confusion (rows: true",
        "accuracy",
    ] {
        assert!(train.stdout.contains(needle), "{needle:?} not in {}", train.stdout);
    }
    assert!(out.join("checkpoint/model.bpk").is_file() && out.join("test_metrics.json").is_file());

    let eval = classify(&["eval", "--checkpoint", path(&out), "--data", &data]);
    eval.succeeded();
    assert!(
        eval.stdout.contains("minilm Lora (Mean pooling), 8 test messages"),
        "{}",
        eval.stdout
    );
    let predict = classify(&[
        "predict",
        "--checkpoint",
        path(&out),
        "Free entry to win a prize, text WIN now",
    ]);
    predict.succeeded();
    assert!(
        predict.stdout.contains("(p = ") && predict.stdout.contains("Free entry"),
        "{}",
        predict.stdout
    );

    let grid_dir = dir.path().join("grid");
    let grid_args = [
        &[
            "grid",
            "--backbones",
            "minilm",
            "--regimes",
            "head",
            "--seeds",
            "1,2",
            "--out",
            path(&grid_dir),
        ],
        &common[..],
    ]
    .concat();
    let grid = || classify(&grid_args);
    grid().succeeded();
    let table = std::fs::read_to_string(grid_dir.join("results.md")).unwrap();
    for row in [
        "| majority class |",
        "| naive Bayes (words) |",
        "| MiniLM-L6 (pretrained) | head only | 770 | 2 |",
    ] {
        assert!(table.contains(row), "{row:?} not in\n{table}");
    }
    let csv = std::fs::read_to_string(grid_dir.join("results.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        7,
        "a header, two baselines and a run for each seed:\n{csv}"
    );
    let again = grid();
    again.succeeded();
    assert!(
        again.stdout.contains("minilm Head seed 2: measured before") && !again.stdout.contains("test accuracy"),
        "a second grid in the same directory reads what the first measured:\n{}",
        again.stdout
    );
    assert_eq!(std::fs::read_to_string(grid_dir.join("results.csv")).unwrap(), csv);
}

#[test]
fn bad_input_is_an_error_that_names_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.tsv");
    std::fs::write(&bad, "ham\thello\nspam free prize\n").unwrap();
    classify(&[
        "train",
        "--backbone",
        "minilm",
        "--data",
        path(&bad),
        "--out",
        path(&dir.path().join("r")),
    ])
    .failed(1, &["bad.tsv, line 2: no tab"]);
    classify(&["eval", "--checkpoint", path(dir.path())]).failed(1, &["no checkpoint in"]);
    classify(&[
        "train",
        "--backbone",
        "gpt",
        "--gpt",
        path(&dir.path().join("none")),
        "--data",
        path(&bad),
    ])
    .failed(1, &["line 2"]);
    let data = small_collection(dir.path());
    classify(&[
        "train",
        "--backbone",
        "gpt",
        "--gpt",
        path(&dir.path().join("none")),
        "--data",
        &data,
        "--out",
        path(&dir.path().join("g")),
    ])
    .failed(1, &["not a checkpoint of a gpt backbone", "--bpe 2048"]);
    classify(&["train", "--backbone", "transformer"]).failed(2, &["invalid value 'transformer'"]);
}
