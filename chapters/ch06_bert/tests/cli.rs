//! The command line, run as a user runs it: a tiny pretraining run, then `fill` on its checkpoint and on a
//! Hugging Face folder, `embed` on all-MiniLM-L6-v2, and the mistakes a user makes, each an exit code 1 (an error
//! from `main`; a panic would be 101) with a message naming the problem.

use std::path::Path;
use std::process::Command;

use bert::RunConfig;
use common::testing::Outcome;
use common::train::{RunDir, Start};

fn bert(args: &[&str]) -> Outcome {
    Command::new(env!("CARGO_BIN_EXE_bert"))
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

/// A corpus of a few hundred lines, and a configuration that trains on it in a second.
fn tiny_run(dir: &Path) -> (String, String) {
    let lines = [
        "First Citizen:\nBefore we proceed any further, hear me speak.\n",
        "All:\nSpeak, speak.\n",
        "First Citizen:\nYou are all resolved rather to die than to famish?\n",
        "ROMEO:\nI love thee, and I hate the day.\n",
    ];
    let text: String = (0..60).map(|i| lines[i % 4]).collect();
    let data = dir.join("corpus.txt");
    std::fs::write(&data, text).unwrap();
    let mut config = RunConfig::named("tiny").unwrap();
    config.training.bpe_vocab_size = 300;
    config.model = bert::BertConfig::new(305, 16, 1, 2, 32);
    config.training.max_iters = 6;
    config.training.eval_interval = 3;
    config.training.batch_size = 4;
    let config_file = dir.join("config.json");
    std::fs::write(&config_file, serde_json::to_string(&config).unwrap()).unwrap();
    (path(&data).to_string(), path(&config_file).to_string())
}

#[test]
fn pretrain_then_fill_from_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (data, config) = tiny_run(dir.path());
    let out = dir.path().join("run");
    let run = bert(&["pretrain", "--config", &config, "--data", &data, "--out", path(&out)]);
    run.succeeded();
    for needle in [
        "masked accuracy",
        "unigram distribution:      loss",
        "most frequent token:",
        "[MASK] 1:",
    ] {
        assert!(
            run.stdout.contains(needle) || run.stderr.contains(needle),
            "{needle:?} not in {}",
            run.stdout
        );
    }
    assert!(out.join("checkpoint/vocab.json").is_file() && out.join("loss.png").is_file());

    let filled = bert(&[
        "fill",
        "--checkpoint",
        path(&out),
        "All:\n[MASK], speak.",
        "ROMEO:\nI [MASK] thee, [MASK]",
    ]);
    filled.succeeded();
    assert_eq!(filled.stdout.matches("[MASK] 1:").count(), 2, "{}", filled.stdout);
    assert_eq!(filled.stdout.matches("[MASK] 2:").count(), 1, "{}", filled.stdout);

    bert(&["pretrain", "--config", &config, "--data", &data, "--out", path(&out)]).failed(1, &["--resume"]);
    bert(&["fill", "--checkpoint", path(&out), "no mask here"]).failed(1, &["the text has no [MASK]"]);
    bert(&["fill", "--checkpoint", path(&dir.path().join("nothing")), "a [MASK]"]).failed(1, &["no checkpoint in"]);
}

#[test]
fn an_invalid_configuration_names_its_fields() {
    let dir = tempfile::tempdir().unwrap();
    let (data, config) = tiny_run(dir.path());
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("\"num_attention_heads\":2", "\"num_attention_heads\":3");
    std::fs::write(&config, text).unwrap();
    let out = dir.path().join("run");
    bert(&["pretrain", "--config", &config, "--data", &data, "--out", path(&out)])
        .failed(1, &["hidden_size = 16 (must be a multiple of num_attention_heads = 3)"]);
    bert(&["pretrain", "--config", "huge", "--out", path(&out)]).failed(1, &["choose tiny or small"]);
}

#[test]
fn fill_reads_a_hugging_face_masked_lm_folder_and_refuses_an_encoder_only_one() {
    let tiny = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny_bert_mlm");
    let filled = bert(&[
        "fill",
        "--model",
        path(&tiny),
        "first citizen: [MASK] speak",
        "--top-k",
        "3",
    ]);
    filled.succeeded();
    assert_eq!(
        filled.stdout.lines().filter(|l| l.contains("[MASK] 1:")).count(),
        1,
        "{}",
        filled.stdout
    );
    let minilm = common::hub::ALL_MINILM_L6_V2.locate(None).unwrap();
    bert(&["fill", "--model", path(&minilm), "a [MASK]"]).failed(1, &["has no masked-LM head"]);
}

#[test]
fn embed_prints_the_similarities_and_refuses_what_it_cannot_read() {
    let embedded = bert(&[
        "embed",
        "A man is eating food.",
        "A man is eating a piece of bread.",
        "A woman plays violin.",
    ]);
    embedded.succeeded();
    let rows: Vec<&str> = embedded.stdout.lines().filter(|l| l.contains(" | ")).collect();
    assert_eq!(rows.len(), 3, "{}", embedded.stdout);
    assert!(rows[0].trim_start().starts_with("1.000"), "{}", rows[0]);
    let dir = tempfile::tempdir().unwrap();
    bert(&["embed", "--model", path(&dir.path().join("nope")), "a", "b"]).failed(1, &["no such folder"]);
    bert(&["embed", "--model", path(dir.path()), "a", "b"]).failed(1, &["has no config.json"]);
    bert(&["embed", "one", " "]).failed(1, &["sentence 2 is empty"]);
    let long = "word ".repeat(600);
    bert(&["embed", "short", &long]).failed(1, &["reads at most 512"]);
}

/// A run's directory has one run at a time: while another process holds it (here, this test), a pretraining into
/// it is refused, naming the lock file and the holder, and writes no checkpoint; once it is free, the run goes.
/// (Two runs into one --out used to both exit 0, the second replacing the first's checkpoint.)
#[test]
fn a_second_run_into_a_directory_in_use_is_refused_until_it_is_free() {
    let dir = tempfile::tempdir().unwrap();
    let (data, config) = tiny_run(dir.path());
    let out = dir.path().join("run");
    let pretrain = ["pretrain", "--config", &config, "--data", &data, "--out", path(&out)];
    let held = RunDir::open(&out, Start::Fresh).unwrap();
    let holder = format!("process {}", std::process::id());
    bert(&pretrain).failed(1, &["is in use by another run", &holder, "run.lock", "another --out"]);
    assert!(!held.checkpoint().exists(), "a refused run wrote a checkpoint");
    drop(held);
    bert(&pretrain).succeeded();
    assert!(out.join("checkpoint").join("model.bpk").is_file());
}

/// Degenerate counts are refused where clap reads them, naming the flag and its range (before, `fill --top-k 0`
/// printed an empty list and `bench --steps 0` a time of `inf` ms per step).
#[test]
fn degenerate_counts_are_refused_naming_the_flag() {
    bert(&["fill", "--top-k", "0", "I [MASK] thee"]).failed(2, &["--top-k", "at least 1"]);
    bert(&["bench", "--steps", "0"]).failed(2, &["--steps", "at least 1"]);
}

/// A tokenizer.json from another model, with more tokens than the model has embeddings, is refused when the folder
/// is loaded, naming both sizes (it used to panic inside burn, exit 101, on the first id past the table).
#[test]
fn a_tokenizer_larger_than_the_model_is_refused_when_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny_bert_mlm");
    for file in ["config.json", "model.safetensors", "tokenizer.json"] {
        std::fs::copy(tiny.join(file), dir.path().join(file)).unwrap();
    }
    let tokenizer_file = dir.path().join("tokenizer.json");
    let mut tokenizer: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&tokenizer_file).unwrap()).unwrap();
    tokenizer["model"]["vocab"]["zebra"] = 120.into(); // the model's 120 embeddings are ids 0 to 119
    std::fs::write(&tokenizer_file, tokenizer.to_string()).unwrap();
    let folder = path(dir.path());
    let needles = ["has 121 tokens", "vocab_size 120", "different models"];
    bert(&["fill", "--model", folder, "zebra [MASK]"]).failed(1, &needles);
    bert(&["embed", "--model", folder, "a zebra", "another"]).failed(1, &needles);
}

/// Every flag an error names is one the failing `bert` command accepts: a second pretraining into a run's
/// directory, a resume with nothing to resume, a configuration that is not there, checkpoints and folders that are
/// not a model's.
#[test]
fn every_flag_an_error_names_exists() {
    let program = env!("CARGO_BIN_EXE_bert");
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = tiny_run(dir.path());
    let out = dir.path().join("run");
    std::fs::create_dir_all(out.join("checkpoint")).unwrap();
    std::fs::write(out.join("checkpoint").join("state.json"), "{}").unwrap();
    let (missing, empty) = (dir.path().join("missing"), tempfile::tempdir().unwrap());
    let (fresh, config_out) = (dir.path().join("fresh"), dir.path().join("config-out"));
    let errors = [
        ("pretrain", bert(&["pretrain", "--data", &data, "--out", path(&out)])),
        (
            "pretrain",
            bert(&["pretrain", "--resume", "--data", &data, "--out", path(&fresh)]),
        ),
        (
            "pretrain",
            bert(&[
                "pretrain",
                "--config",
                path(&missing),
                "--data",
                &data,
                "--out",
                path(&config_out),
            ]),
        ),
        ("fill", bert(&["fill", "--checkpoint", path(&missing), "a [MASK]"])),
        ("fill", bert(&["fill", "--model", path(empty.path()), "a [MASK]"])),
        ("embed", bert(&["embed", "--model", path(&missing), "a", "b"])),
    ];
    for (subcommand, error) in &errors {
        assert_ne!(error.code, Some(0), "{}", error.stdout);
        error.names_only_flags_of(program, subcommand);
    }
}

/// A configuration that cannot fit is refused before any work, naming the fields to lower: a context past the
/// bound, and a batch whose attention alone would take more memory than any machine has (it used to run until the
/// kernel killed it, having taken all 24 GB).
#[test]
fn a_configuration_too_large_for_memory_is_refused_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let (data, config_file) = tiny_run(dir.path());
    let config: RunConfig = serde_json::from_str(&std::fs::read_to_string(&config_file).unwrap()).unwrap();
    let out = path(&dir.path().join("run")).to_string();
    let pretrain = |config: &RunConfig| {
        let file = dir.path().join("large.json");
        std::fs::write(&file, serde_json::to_string(config).unwrap()).unwrap();
        bert(&["pretrain", "--config", path(&file), "--data", &data, "--out", &out])
    };
    let mut long = config.clone();
    long.model.max_position_embeddings = 100_000;
    pretrain(&long).failed(1, &["max_position_embeddings = 100000", "at most 8192"]);
    let mut wide = config;
    wide.model.max_position_embeddings = 8192;
    wide.training.batch_size = 4096;
    // The machine's memory is read from Linux's /proc/meminfo; elsewhere the check has nothing to compare with.
    if common::device::physical_memory_bytes().is_some() {
        pretrain(&wide).failed(1, &["needs about", "this machine has", "training.batch_size"]);
    }
    assert!(!dir.path().join("run").join("checkpoint").exists());
}

/// A GPT-2 folder given to `bert` is named as such (its config.json's model_type), and a folder without config.json
/// says which file is missing (it said "not a BERT configuration (No such file ...)").
#[test]
fn another_kind_of_model_folder_is_named_as_such() {
    let gpt2 = tempfile::tempdir().unwrap();
    std::fs::write(
        gpt2.path().join("config.json"),
        r#"{"model_type": "gpt2", "vocab_size": 50257}"#,
    )
    .unwrap();
    for file in ["model.safetensors", "tokenizer.json"] {
        std::fs::write(gpt2.path().join(file), "").unwrap();
    }
    bert(&["embed", "--model", path(gpt2.path()), "a", "b"]).failed(1, &["holds a \"gpt2\" model", "model_type"]);
    let empty = tempfile::tempdir().unwrap();
    bert(&["fill", "--model", path(empty.path()), "a [MASK]"]).failed(1, &["has no config.json"]);
}

/// A resume that would do something other than continue the run is refused, naming what to change: one that would
/// train nothing (a --max-iters at or before the run's step, or a finished run), and one on another text than the
/// run's (it used to switch corpus without a word, and the others to exit 0 after no steps).
#[test]
fn a_resume_that_would_not_continue_the_run_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (data, config) = tiny_run(dir.path());
    let out = dir.path().join("run");
    let pretrain = |args: &[&str]| bert(&[&["pretrain", "--data", &data, "--out", path(&out)][..], args].concat());
    pretrain(&["--config", &config, "--max-iters", "4"]).succeeded();
    pretrain(&["--resume", "--max-iters", "3"]).failed(1, &["at step 4 already", "--max-iters above 4"]);
    let other = dir.path().join("other.txt");
    let text = std::fs::read_to_string(&data).unwrap();
    std::fs::write(&other, text.replace("speak", "talk")).unwrap();
    bert(&["pretrain", "--resume", "--data", path(&other), "--out", path(&out)]).failed(1, &["another text", "--data"]);
    pretrain(&["--resume"]).succeeded();
    pretrain(&["--resume"]).failed(1, &["at step 6", "finished"]);
}

/// A directory where a file is expected is named as one: `--config DIR` said "no configuration named", `--data DIR`
/// "no such file".
#[test]
fn a_directory_where_a_file_is_expected_is_named_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = tiny_run(dir.path());
    let folder = path(dir.path());
    let out = dir.path().join("run");
    bert(&["pretrain", "--config", folder, "--data", &data, "--out", path(&out)])
        .failed(1, &["is a directory", "JSON file of a RunConfig"]);
    bert(&["pretrain", "--data", folder, "--out", path(&out)]).failed(1, &["--data", "is a directory"]);
}
