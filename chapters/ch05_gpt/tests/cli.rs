//! The command line as a careless user meets it. Every case here once destroyed a file, lost a checkpoint or
//! panicked; each asserts the exit code (1: an error returned from `main`; 2: clap refusing the flags; a panic would
//! be 101) and that the message names the problem. The runs are tiny (the `tiny` preset, a few steps, a small
//! corpus), so the whole file takes seconds.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::testing::Outcome;
use serde_json::Value;

const TEXT: &str = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n\
                    First Citizen:\nYou are all resolved rather to die than to famish?\n\n";

fn gpt_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gpt"));
    command.args(args).env("RUST_BACKTRACE", "0").env_remove("LLM_DEVICE");
    command
}

fn gpt(args: &[&str]) -> Outcome {
    gpt_command(args).output().unwrap().into()
}

/// A scratch folder with a small corpus in it.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("corpus.txt"), TEXT.repeat(20)).unwrap();
        Scratch { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `gpt train` into `out`, on the CPU, without a sample, on the corpus unless `extra` names other `--data`.
    fn train_args(&self, out: &Path, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = ["train", "--device", "cpu", "--sample-tokens", "0"]
            .map(String::from)
            .to_vec();
        if !extra.contains(&"--data") {
            args.push("--data".into());
            args.push(self.path("corpus.txt").display().to_string());
        }
        args.push("--out".into());
        args.push(out.display().to_string());
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    fn train_command(&self, out: &Path, extra: &[&str]) -> Command {
        gpt_command(
            &self
                .train_args(out, extra)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
    }

    fn train(&self, out: &Path, extra: &[&str]) -> Outcome {
        self.train_command(out, extra).output().unwrap().into()
    }

    /// A config file: the tiny preset as a run saved it, changed by `edit`.
    fn config(&self, trained: &Path, name: &str, edit: impl FnOnce(&mut Value)) -> String {
        let mut config = state(trained)["config"].clone();
        edit(&mut config);
        let path = self.path(name);
        fs::write(&path, config.to_string()).unwrap();
        path.display().to_string()
    }
}

fn state(run: &Path) -> Value {
    serde_json::from_slice(&fs::read(run.join("checkpoint").join("state.json")).unwrap()).unwrap()
}

/// The step of the checkpoint in `run`, if one can be read at this moment (a save may be renaming it).
fn saved_step(run: &Path) -> Option<u64> {
    let bytes = fs::read(run.join("checkpoint").join("state.json")).ok()?;
    serde_json::from_slice::<Value>(&bytes).ok()?["step"].as_u64()
}

fn sample(run: &Path, extra: &[&str]) -> Outcome {
    let run = run.display().to_string();
    let mut args = vec![
        "sample",
        "--device",
        "cpu",
        "--max-new-tokens",
        "5",
        "--checkpoint",
        &run,
    ];
    args.extend(extra);
    gpt(&args)
}

const TINY: [&str; 4] = ["--config", "tiny", "--max-iters", "20"];

#[test]
fn sampling_without_a_checkpoint_says_how_to_make_one() {
    let scratch = Scratch::new();
    sample(&scratch.path("nothing"), &[]).failed(1, &["no checkpoint in", "gpt train --out"]);
}

#[test]
fn training_leaves_other_files_alone_and_replaces_a_checkpoint_only_when_asked() {
    let scratch = Scratch::new();
    let out = scratch.path("run");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("notes.txt"), "mine").unwrap();
    scratch.train(&out, &TINY).succeeded();
    assert_eq!(state(&out)["step"], 20);
    let saved = fs::read(out.join("checkpoint").join("state.json")).unwrap();

    scratch
        .train(&out, &["--config", "tiny", "--max-iters", "1"])
        .failed(1, &["already holds a checkpoint", "--resume", "--overwrite"]);
    assert_eq!(fs::read(out.join("checkpoint").join("state.json")).unwrap(), saved);
    scratch
        .train(&out, &["--resume", "--overwrite"])
        .failed(2, &["--overwrite", "cannot be used with"]);

    let resumed = scratch.train(&out, &["--resume", "--max-iters", "40"]);
    assert!(resumed.succeeded().stdout.contains("at step 20"), "{}", resumed.stdout);
    assert_eq!(state(&out)["step"], 40);
    scratch
        .train(&out, &["--config", "tiny", "--max-iters", "1", "--overwrite"])
        .succeeded();
    assert_eq!(state(&out)["step"], 1);
    assert_eq!(fs::read_to_string(out.join("notes.txt")).unwrap(), "mine");
    assert!(out.join("loss.png").is_file() && out.join("loss.svg").is_file());
}

#[test]
fn an_out_that_is_a_file_is_refused_before_anything_is_touched() {
    let scratch = Scratch::new();
    let file = scratch.path("notes.txt");
    fs::write(&file, "mine").unwrap();
    scratch
        .train(&file, &TINY)
        .failed(1, &["notes.txt is a file, not a directory"]);
    assert_eq!(fs::read_to_string(&file).unwrap(), "mine");
    assert!(!scratch.path("notes.txt.old").exists() && !scratch.path("notes.txt.tmp").exists());
}

#[test]
fn a_diverging_run_stops_with_an_error_and_leaves_a_readable_checkpoint() {
    let scratch = Scratch::new();
    let out = scratch.path("run");
    scratch.train(&out, &TINY).succeeded();
    let explosive = scratch.config(&out, "explosive.json", |config| {
        config["training"]["learning_rate"] = 1e30.into();
        config["training"]["min_lr"] = 1e29.into();
    });
    scratch
        .train(&out, &["--config", &explosive, "--overwrite"])
        .failed(1, &["the run diverged", "at step", "learning rate"]);
    // The step-0 checkpoint, saved before the first step, is the last good one: it loads for sampling and resuming,
    // and it stores numbers only.
    let saved = state(&out);
    assert_eq!(saved["step"], 0);
    assert!(
        !fs::read_to_string(out.join("checkpoint").join("state.json"))
            .unwrap()
            .contains("NaN")
    );
    sample(&out, &[]).succeeded();
    scratch.train(&out, &["--resume"]).failed(1, &["the run diverged"]);
}

#[test]
fn invalid_configurations_are_errors_naming_the_field_and_its_range() {
    let scratch = Scratch::new();
    let out = scratch.path("run");
    scratch.train(&out, &TINY).succeeded();
    let cases: [(&str, &str, Value, &str); 9] = [
        (
            "model",
            "n_head",
            3.into(),
            "n_embd = 32 (must be a multiple of n_head = 3)",
        ),
        ("model", "n_head", 0.into(), "n_head = 0 (must be at least 1)"),
        ("model", "block_size", 0.into(), "block_size = 0 (must be at least 1)"),
        (
            "model",
            "block_size",
            100_000.into(),
            "block_size = 100000 (must be at most 8192",
        ),
        (
            "model",
            "dropout",
            1.0.into(),
            "dropout = 1 (must be at least 0 and below 1)",
        ),
        (
            "training",
            "batch_size",
            0.into(),
            "batch_size = 0 (must be at least 1)",
        ),
        (
            "training",
            "eval_iters",
            0.into(),
            "eval_iters = 0 (must be at least 1)",
        ),
        (
            "training",
            "learning_rate",
            (-1.0).into(),
            "learning_rate = -1 (must be finite and above 0)",
        ),
        (
            "training",
            "beta2",
            1.0.into(),
            "beta2 = 1 (must be at least 0 and below 1)",
        ),
    ];
    for (part, field, value, message) in cases {
        let config = scratch.config(&out, "bad.json", |config| config[part][field] = value.clone());
        scratch
            .train(&out, &["--config", &config, "--overwrite"])
            .failed(1, &["--config", message]);
    }
    // A configuration too large for the machine's memory is refused before any work (where Linux says how much
    // there is), naming the fields to lower.
    if common::device::physical_memory_bytes().is_some() {
        let config = scratch.config(&out, "large.json", |config| {
            config["model"]["block_size"] = 8192.into();
            config["training"]["batch_size"] = 4096.into();
        });
        scratch
            .train(&out, &["--config", &config, "--overwrite"])
            .failed(1, &["needs about", "this machine has", "model.block_size"]);
    }
    // The same check where a checkpoint's configuration is read: sampling and resuming refuse it.
    let state_file = out.join("checkpoint").join("state.json");
    let mut edited = state(&out);
    edited["config"]["model"]["n_head"] = 0.into();
    fs::write(&state_file, edited.to_string()).unwrap();
    sample(&out, &[]).failed(1, &["the checkpoint in", "n_head = 0"]);
    scratch
        .train(&out, &["--resume"])
        .failed(1, &["the checkpoint in", "n_head = 0"]);
}

#[test]
fn resume_refuses_the_flags_it_would_ignore_and_max_iters_is_not_capped_silently() {
    let scratch = Scratch::new();
    let out = scratch.path("run");
    for flag in [["--seed", "3"], ["--config", "tiny"], ["--bpe", "300"]] {
        let args = [&["--resume"][..], &flag[..]].concat();
        scratch.train(&out, &args).failed(2, &[flag[0], "cannot be used with"]);
    }
    scratch
        .train(&out, &["--config", "tiny", "--max-iters", "61"])
        .failed(1, &["--max-iters 61 is past the configuration's max_iters 60"]);
}

#[test]
fn a_stopped_run_reports_its_own_estimate_and_sampling_settings_say_what_is_allowed() {
    let scratch = Scratch::new();
    let out = scratch.path("run");
    let trained = scratch.train(&out, &["--config", "tiny", "--max-iters", "7"]);
    assert!(
        trained.succeeded().stdout.contains("final estimate (step 7)"),
        "{}",
        trained.stdout
    );
    sample(&out, &["--temperature", "inf"]).failed(1, &["finite positive number, got inf"]);
    let whole_vocabulary = sample(&out, &["--top-k", "0"]);
    assert!(
        whole_vocabulary.succeeded().stderr.contains("device: cpu"),
        "{}",
        whole_vocabulary.stderr
    );
    sample(&out.join("checkpoint"), &[]).succeeded();
    // A resume that would stop at or before where the run is trains nothing: an error, not a silent exit 0.
    for until in ["5", "7"] {
        scratch.train(&out, &["--resume", "--max-iters", until]).failed(
            1,
            &["at step 7 already", "leaves nothing to train", "--max-iters above 7"],
        );
    }
}

#[test]
fn unreadable_data_is_an_error_naming_the_file() {
    let scratch = Scratch::new();
    let out = scratch.path("run");
    let binary = scratch.path("binary.txt");
    fs::write(&binary, [0xff, 0xfe, 0x00, 0x80].repeat(100)).unwrap();
    for data in [binary, scratch.path("missing.txt"), scratch.dir.path().to_path_buf()] {
        let data = data.display().to_string();
        let args = ["--config", "tiny", "--max-iters", "1", "--data", &data];
        scratch.train(&out, &args).failed(1, &[&data]);
    }
}

#[test]
fn a_run_killed_in_the_middle_of_its_saves_resumes_from_a_whole_checkpoint() {
    let scratch = Scratch::new();
    let out = scratch.path("run");
    scratch
        .train(&out, &["--config", "tiny", "--max-iters", "1"])
        .succeeded();
    let save_every_step = scratch.config(&out, "every-step.json", |config| {
        config["training"]["eval_interval"] = 1.into();
        config["training"]["eval_iters"] = 1.into();
    });
    let mut child = scratch
        .train_command(&out, &["--config", &save_every_step, "--overwrite"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while saved_step(&out).is_none_or(|step| step < 3) && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL, in the middle of the run's saves
    child.wait().unwrap();
    scratch.train(&out, &["--resume", "--max-iters", "10"]).succeeded();
    assert_eq!(state(&out)["step"], 10);
    sample(&out, &[]).succeeded();
}

/// A run asked to stay on the CPU never starts the Vulkan loader (`VK_LOADER_DEBUG` would make it speak), and
/// looking for a GPU on a machine without `XDG_RUNTIME_DIR` prints nothing of Mesa's.
#[test]
fn the_cpu_stays_the_cpu_and_probing_for_a_gpu_is_quiet() {
    let scratch = Scratch::new();
    let out = scratch.path("run");
    scratch
        .train(&out, &["--config", "tiny", "--max-iters", "2"])
        .succeeded();
    let resumed = Outcome::from(
        scratch
            .train_command(&out, &["--resume", "--max-iters", "4"])
            .env("VK_LOADER_DEBUG", "all")
            .output()
            .unwrap(),
    );
    assert!(
        !resumed.succeeded().stderr.to_lowercase().contains("loader"),
        "{}",
        resumed.stderr
    );
    let run = out.display().to_string();
    let probed = Outcome::from(
        gpt_command(&[
            "sample",
            "--device",
            "auto",
            "--max-new-tokens",
            "2",
            "--checkpoint",
            &run,
        ])
        .env_remove("XDG_RUNTIME_DIR")
        .output()
        .unwrap(),
    );
    assert!(
        !probed.succeeded().stderr.contains("XDG_RUNTIME_DIR"),
        "{}",
        probed.stderr
    );
}

/// `bench` with nothing to time is refused, naming the flag and its range, instead of printing `inf` ms per step.
#[test]
fn bench_refuses_to_time_nothing() {
    gpt(&["bench", "--steps", "0"]).failed(2, &["--steps", "at least 1"]);
    gpt(&["bench", "--new-tokens", "0"]).failed(2, &["--new-tokens", "at least 1"]);
}

/// Every flag an error names is one the failing `gpt` command accepts: a second run into a run's directory, a
/// resume with nothing to resume, a diverging configuration, sampling and benchmarking from nowhere.
#[test]
fn every_flag_an_error_names_exists() {
    let program = env!("CARGO_BIN_EXE_gpt");
    let scratch = Scratch::new();
    let out = scratch.path("run");
    scratch
        .train(&out, &["--config", "tiny", "--max-iters", "2"])
        .succeeded();
    let missing = scratch.path("missing");
    let errors = [
        ("train", scratch.train(&out, &["--config", "tiny", "--max-iters", "2"])),
        ("train", scratch.train(&missing, &["--resume"])),
        ("train", scratch.train(&out, &["--resume", "--max-iters", "1"])),
        (
            "train",
            scratch.train(&scratch.path("other"), &["--config", "tiny", "--max-iters", "61"]),
        ),
        (
            "train",
            scratch.train(&scratch.path("file"), &["--config", "no-such-preset"]),
        ),
        (
            "sample",
            gpt(&["sample", "--checkpoint", path_str(&missing), "--device", "cpu"]),
        ),
        (
            "bench",
            gpt(&["bench", "--config", "no-such-preset", "--device", "cpu"]),
        ),
    ];
    for (subcommand, error) in &errors {
        assert_ne!(error.code, Some(0), "{}", error.stdout);
        error.names_only_flags_of(program, subcommand);
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}
