//! The command line, run as a user runs it: `train` all-MiniLM-L6-v2 with LoRA for one epoch on a small
//! collection, `eval` and `predict` from its checkpoint, a one-row `grid`, and the mistakes a user makes, each an
//! exit code 1 (an error from `main`; a panic would be 101) with a message naming the problem.

use std::path::Path;
use std::process::Command;

use common::testing::Outcome;
use common::train::{RunDir, Start};

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
        "parameters; 74498 trainable in the lora regime, the head's included; about 0.",
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
        "--out",
        path(&dir.path().join("b")),
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

/// Numeric flags out of their range are refused where clap reads them, naming the flag and the range: a negative
/// learning rate used to train for epochs with the loss rising and exit 0, and 0, NaN or infinity to end as a
/// "divergence" with advice about a configuration file this command does not read.
#[test]
fn numeric_flags_out_of_range_are_refused_naming_the_flag_and_its_range() {
    let cases = [
        ("--lr=-0.05", "--lr", "above 0"),
        ("--lr=0", "--lr", "above 0"),
        ("--lr=NaN", "--lr", "above 0"),
        ("--alpha=NaN", "--alpha", "above 0"),
        ("--alpha=inf", "--alpha", "above 0"),
        ("--rank=0", "--rank", "at least 1"),
        ("--epochs=0", "--epochs", "at least 1"),
        ("--lr=fast", "--lr", "not a number"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    for (flag, name, range) in cases {
        classify(&["train", "--backbone", "minilm", flag, "--out", path(&out)]).failed(2, &[name, range]);
    }
    assert!(!out.exists(), "a refused command created its --out");
}

/// `grid` of one backbone, one regime and one seed into `out`.
fn one_cell_grid(out: &Path) -> Outcome {
    classify(&[
        "grid",
        "--backbones",
        "minilm",
        "--regimes",
        "head",
        "--seeds",
        "1",
        "--out",
        path(out),
    ])
}

/// A run's directory has one run at a time: while another process holds it (here, this test), `train` and `grid`
/// into it are refused, naming the lock file and the holder, and leave no checkpoint there.
#[test]
fn a_second_run_into_a_directory_in_use_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let held = RunDir::open(&out, Start::Fresh).unwrap();
    let holder = format!("process {}", std::process::id());
    let needles = ["is in use by another run", &holder, "run.lock", "another --out"];
    classify(&["train", "--backbone", "minilm", "--out", path(&out)]).failed(1, &needles);
    one_cell_grid(&out).failed(1, &needles);
    assert!(!held.checkpoint().exists(), "a refused run wrote a checkpoint");
}

/// The grid replaces its own tables as it goes, never a file of the same name it did not write.
#[test]
fn the_grid_never_replaces_a_results_file_it_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["results.md", "results.csv"] {
        let out = dir.path().join(name.replace('.', "-"));
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join(name), "my notes\n").unwrap();
        one_cell_grid(&out).failed(1, &[name, "is not a table the grid wrote", "another --out"]);
        assert_eq!(std::fs::read_to_string(out.join(name)).unwrap(), "my notes\n");
    }
}

/// Every flag an error names is one `classify` accepts (errors used to send users to `--from` and `--resume`,
/// which it does not have), for the mistakes a user makes most: a second run into a run's directory, a backbone
/// run that is not there, a checkpoint that is not a classifier's, a flag out of range, a busy directory.
#[test]
fn every_flag_an_error_names_exists() {
    let program = env!("CARGO_BIN_EXE_classify");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    std::fs::create_dir_all(out.join("checkpoint")).unwrap();
    std::fs::write(out.join("checkpoint").join("state.json"), "{}").unwrap();
    let missing = dir.path().join("missing");
    let data = small_collection(dir.path());
    let (gpt_out, bert_out) = (dir.path().join("gpt"), dir.path().join("bert"));
    let gpt = ["--gpt", path(&missing), "--data", &data, "--out", path(&gpt_out)];
    let bert = ["--bert", path(&missing), "--data", &data, "--out", path(&bert_out)];
    let errors = [
        classify(&["train", "--backbone", "minilm", "--out", path(&out)]),
        classify(&[&["train", "--backbone", "gpt"][..], &gpt].concat()),
        classify(&[&["train", "--backbone", "bert"][..], &bert].concat()),
        classify(&["eval", "--checkpoint", path(dir.path())]),
        classify(&["predict", "--checkpoint", path(&missing), "hello"]),
        classify(&["train", "--backbone", "minilm", "--lr=-1"]),
    ];
    let subcommands = ["train", "train", "train", "eval", "predict", "train"];
    for (error, subcommand) in errors.iter().zip(subcommands) {
        assert_ne!(error.code, Some(0), "{}", error.stdout);
        error.names_only_flags_of(program, subcommand);
    }
    assert!(errors[0].stderr.contains("--overwrite"), "{}", errors[0].stderr);
    assert!(errors[1].stderr.contains("as --gpt"), "{}", errors[1].stderr);
    assert!(errors[2].stderr.contains("as --bert"), "{}", errors[2].stderr);
}
