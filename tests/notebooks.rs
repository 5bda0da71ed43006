//! Executes every notebook headless through the evcxr Jupyter kernel, as a learner would run it top to bottom (two
//! at a time), and fails on any error output (a notebook `assert!`s the numbers it claims); checks that the kernels
//! can share one build. Needs `jupyter` and `evcxr_jupyter` (`.ci/run` installs both); built only with
//! `--features notebooks`.
//!
//! The notebooks are committed with their outputs, so that GitHub and the book show their figures. To refresh
//! them: `LLM_NOTEBOOKS_SAVE=1 cargo test --workspace --all-features --test notebooks`, which writes each executed
//! notebook back over its source once it passed.

use std::collections::{BTreeMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde_json::Value;
use workspace_tests::{files_with_extension, repo_root};

/// The cells of an executed notebook. The kernel compiles its cells in `build_dir` (`EVCXR_TMPDIR`), which the
/// notebooks executed one after the other share: cargo then finds the dependencies and the chapter crates the
/// kernel before it compiled still fresh there, and a kernel compiles only its own cells. Each cell may run for
/// `cell_seconds`.
///
/// The kernel compiles with cargo's default incremental setting whatever this process was given: evcxr's build cache
/// (`:cache`) keys a compilation by rustc's command line alone and reuses it for any crate compiled without
/// incremental compilation, as cargo compiles downloaded crates. Under `CARGO_INCREMENTAL=0` (as `.ci/run` sets on
/// CI) the crate of a notebook's third cell, `code_3`, would be served another notebook's `code_3` from the cache,
/// and loading it fails with "dlsym failed".
fn execute(notebook: &Path, out_dir: &Path, build_dir: &Path, cell_seconds: u32) -> Vec<Value> {
    let status = Command::new("jupyter")
        .env("EVCXR_TMPDIR", build_dir)
        .env_remove("CARGO_INCREMENTAL")
        .args(["nbconvert", "--to", "notebook", "--execute"])
        .arg(format!("--ExecutePreprocessor.timeout={cell_seconds}"))
        .args(["--ExecutePreprocessor.kernel_name=rust", "--output-dir"])
        .arg(out_dir)
        .arg(notebook)
        .status()
        .expect("`jupyter` is on PATH (bash .ci/run installs it)");
    assert!(
        status.success(),
        "{} did not execute: nbconvert exited with {status}",
        notebook.display()
    );
    cells(&out_dir.join(notebook.file_name().unwrap()))
}

/// The cells of the notebook file at `path`.
fn cells(path: &Path) -> Vec<Value> {
    let json: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    json["cells"].as_array().expect("a notebook has cells").clone()
}

/// A description of each error a cell printed: error outputs, and compiler errors written to stderr.
fn errors(cell: &Value) -> Vec<String> {
    let outputs = cell["outputs"].as_array().map(Vec::as_slice).unwrap_or_default();
    outputs
        .iter()
        .filter_map(|output| match output["output_type"].as_str() {
            Some("error") => Some(format!("{}: {}", output["ename"], output["evalue"])),
            Some("stream") if output["name"] == "stderr" => {
                let text = text_of(&output["text"]);
                (text.contains("error[") || text.contains("panicked")).then_some(text)
            }
            _ => None,
        })
        .collect()
}

fn text_of(value: &Value) -> String {
    match value {
        Value::Array(lines) => lines.iter().filter_map(Value::as_str).collect(),
        Value::String(text) => text.clone(),
        _ => String::new(),
    }
}

/// How many notebooks execute at once: `LLM_NOTEBOOK_JOBS`, or 2. A kernel keeps about one core busy (evcxr
/// compiles and links each cell, then runs it), so on two cores two kernels take about half the time once nothing
/// else runs beside them.
fn jobs() -> usize {
    std::env::var("LLM_NOTEBOOK_JOBS")
        .ok()
        .and_then(|jobs| jobs.parse().ok())
        .filter(|&jobs| jobs > 0)
        .unwrap_or(2)
}

/// No cell of the executed notebook `name` printed an error.
fn check_errors(name: &str, cells: &[Value]) {
    for (index, cell) in cells.iter().enumerate() {
        let errors = errors(cell);
        assert!(errors.is_empty(), "{name}, cell {index}: {}", errors.join("\n"));
    }
}

/// The checks on an executed notebook: no cell printed an error, a figure shows inline, the exercises end it.
fn check_executed(name: &str, cells: &[Value]) {
    check_errors(name, cells);
    let figures = cells
        .iter()
        .flat_map(|cell| cell["outputs"].as_array().cloned().unwrap_or_default())
        .filter(|output| {
            output["data"].get("image/svg+xml").is_some() || text_of(&output["data"]["text/html"]).contains("<svg")
        })
        .count();
    assert!(figures > 0, "{name} shows no figure inline");
    let last = cells.last().expect("a notebook has cells");
    assert!(
        last["cell_type"] == "markdown" && text_of(&last["source"]).contains("Exercises"),
        "{name} does not end with its exercises"
    );
}

/// Executes and checks `notebook`, writing it back over its source when `LLM_NOTEBOOKS_SAVE` is set.
fn execute_and_check(notebook: &Path, out_dir: &Path, build_dir: &Path) {
    let name = notebook.file_name().unwrap().to_string_lossy();
    let start = Instant::now();
    let cells = execute(notebook, out_dir, build_dir, 1800);
    eprintln!("executed {name} in {:.0} s", start.elapsed().as_secs_f64());
    check_executed(&name, &cells);
    if std::env::var_os("LLM_NOTEBOOKS_SAVE").is_some() {
        std::fs::copy(out_dir.join(notebook.file_name().unwrap()), notebook).expect("the notebook can be written");
    }
}

/// A one-cell notebook, written into `dir`, whose cell declares every crate that any notebook's first cell declares.
/// Executed first and alone, it compiles all of them into the kernels' build folder, so that every notebook after
/// it compiles only its own cells (and the folder's copies need not compile chapters 6-8's crates once each).
fn write_warm_up(notebooks: &[PathBuf], dir: &Path) -> PathBuf {
    let mut by_crate: BTreeMap<String, String> = BTreeMap::new();
    for notebook in notebooks {
        for dependency in kernel_dependencies(notebook) {
            let name = dependency.split_whitespace().next().unwrap_or_default().to_string();
            // The longest line of a crate turns on the most features (burn's `optim` in chapter 4 on).
            let line = by_crate.entry(name).or_default();
            if dependency.len() > line.len() {
                *line = dependency;
            }
        }
    }
    let mut source = String::from(":cache 4096\n");
    for dependency in by_crate.values() {
        source.push_str(&format!(":dep {dependency}\n"));
    }
    let notebook = serde_json::json!({
        "cells": [{"cell_type": "code", "id": "warm-up", "metadata": {}, "execution_count": null, "outputs": [],
                   "source": source}],
        "metadata": {"kernelspec": {"name": "rust", "display_name": "Rust", "language": "rust"}},
        "nbformat": 4,
        "nbformat_minor": 5
    });
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("warm-up.ipynb");
    std::fs::write(&path, notebook.to_string()).unwrap();
    path
}

/// Seconds since 1970 of a Jupyter timestamp such as `2026-12-06T14:03:27.512345Z` (UTC), or `None`.
fn timestamp_seconds(stamp: &str) -> Option<f64> {
    let (date, time) = stamp.trim_end_matches('Z').split_once('T')?;
    let mut ymd = date.split('-').map(str::parse::<i64>);
    let (year, month, day) = (ymd.next()?.ok()?, ymd.next()?.ok()?, ymd.next()?.ok()?);
    let mut hms = time.split(':').map(str::parse::<f64>);
    let (hours, minutes, seconds) = (hms.next()?.ok()?, hms.next()?.ok()?, hms.next()?.ok()?);
    // Days since 1970-01-01 of a proleptic Gregorian date (years counted from March, so February ends a year).
    let shifted = if month <= 2 { year - 1 } else { year };
    let era = shifted.div_euclid(400);
    let year_of_era = shifted - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(days as f64 * 86_400.0 + hours * 3_600.0 + minutes * 60.0 + seconds)
}

/// How long the committed notebook's cells took when it was last executed (Jupyter records each cell's start and
/// end in its metadata); a notebook without that record counts as the longest.
fn recorded_seconds(notebook: &Path) -> f64 {
    cells(notebook)
        .iter()
        .map(|cell| {
            let execution = &cell["metadata"]["execution"];
            let stamp = |key: &str| execution[key].as_str().and_then(timestamp_seconds);
            match (stamp("iopub.execute_input"), stamp("shell.execute_reply")) {
                (Some(start), Some(end)) => end - start,
                _ if cell["cell_type"] == "code" => f64::INFINITY,
                _ => 0.0,
            }
        })
        .sum()
}

#[test]
fn timestamps_count_seconds_since_1970_across_months_and_leap_days() {
    assert_eq!(timestamp_seconds("1970-01-01T00:00:00Z"), Some(0.0));
    assert_eq!(timestamp_seconds("2000-03-01T00:00:00.5Z"), Some(951_868_800.5));
    let new_year = timestamp_seconds("2027-01-01T00:00:01Z").unwrap();
    assert_eq!(new_year - timestamp_seconds("2026-12-31T23:59:59Z").unwrap(), 2.0);
    assert_eq!(timestamp_seconds("yesterday"), None);
}

#[test]
fn every_notebook_runs_without_error_shows_figures_and_ends_with_exercises() {
    let notebooks = files_with_extension(&repo_root().join("notebooks"), "ipynb");
    assert!(!notebooks.is_empty(), "no notebooks found");
    let out_dir = std::env::temp_dir().join(format!("notebooks-{}", std::process::id()));
    // `.ci/run` names a folder outside the repository and starts this test early, beside the other tests' build;
    // by default, a folder of this run's, removed at the end (it holds ~2 GB of build output).
    let build_dir: PathBuf =
        std::env::var_os("LLM_NOTEBOOK_KERNEL_DIR").map_or_else(|| out_dir.join("kernel-build"), Into::into);
    let start = Instant::now();
    let warm_up = write_warm_up(&notebooks, &out_dir.join("warm-up"));
    // Its one cell compiles burn and every chapter crate from nothing: on two busy cores, over 20 minutes.
    let warm_up_cells = execute(&warm_up, &out_dir, &build_dir, 3600);
    check_errors(
        "the warm-up notebook (every notebook's first cell at once)",
        &warm_up_cells,
    );
    eprintln!(
        "compiled every notebook's crates in {:.0} s",
        start.elapsed().as_secs_f64()
    );
    // Each further kernel gets a copy of that folder beside it (two kernels in one folder would write the same
    // crate; a sibling at the same depth keeps cargo's relative paths, so everything in it is still fresh).
    let copies: Vec<PathBuf> = (1..jobs().min(notebooks.len()))
        .map(|job| {
            let copy = PathBuf::from(format!("{}-{job}", build_dir.display()));
            let _ = std::fs::remove_dir_all(&copy);
            let status = Command::new("cp")
                .arg("-a")
                .arg(&build_dir)
                .arg(&copy)
                .status()
                .expect("cp runs");
            assert!(
                status.success(),
                "could not copy {} to {}",
                build_dir.display(),
                copy.display()
            );
            copy
        })
        .collect();
    // Longest first, by the time each took when it was last saved: the kernels then finish close together, instead
    // of one long notebook running alone at the end.
    let mut longest_first: Vec<(f64, &PathBuf)> = notebooks.iter().map(|n| (recorded_seconds(n), n)).collect();
    longest_first.sort_by(|a, b| b.0.total_cmp(&a.0));
    let queue = Mutex::new(longest_first.into_iter().map(|(_, n)| n).collect::<VecDeque<_>>());
    let failed = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for dir in std::iter::once(&build_dir).chain(&copies) {
            scope.spawn(|| {
                loop {
                    // Taken in its own statement, so that the lock is released before the notebook runs.
                    let next = queue.lock().unwrap().pop_front();
                    let Some(notebook) = next.filter(|_| !failed.load(Ordering::Relaxed)) else {
                        break;
                    };
                    let run = std::panic::catch_unwind(AssertUnwindSafe(|| execute_and_check(notebook, &out_dir, dir)));
                    if let Err(panic) = run {
                        failed.store(true, Ordering::Relaxed);
                        std::panic::resume_unwind(panic);
                    }
                }
            });
        }
    });
    for copy in copies {
        let _ = std::fs::remove_dir_all(copy);
    }
    let _ = std::fs::remove_dir_all(out_dir);
}

/// The notebooks that build their chapter's mechanism in their own cells before they use the crate: all of them.
const NOTEBOOKS_THAT_BUILD: [&str; 9] = [
    "01_tokens_and_embeddings.ipynb",
    "02_self_attention.ipynb",
    "03_multi_head_attention.ipynb",
    "04_transformer.ipynb",
    "05_gpt.ipynb",
    "06_bert.ipynb",
    "07_classification.ipynb",
    "08_gpt2.ipynb",
    "09_instruct.ipynb",
];

/// A notebook that builds a mechanism checks it: at least eight code cells assert that what the notebook wrote
/// equals what the crate computes, and the first of them comes in the notebook's first half, before the crate is
/// trained or run at scale.
#[test]
fn every_notebook_that_builds_checks_its_work_against_the_crate() {
    for name in NOTEBOOKS_THAT_BUILD {
        let code: Vec<String> = cells(&repo_root().join("notebooks").join(name))
            .iter()
            .filter(|cell| cell["cell_type"] == "code")
            .map(|cell| text_of(&cell["source"]))
            .collect();
        let checking: Vec<usize> = (0..code.len()).filter(|&i| code[i].contains("assert")).collect();
        assert!(
            checking.len() >= 8,
            "{name}: only {} code cells assert anything",
            checking.len()
        );
        assert!(
            checking[0] < code.len() / 2,
            "{name}: the first check comes late (cell {} of {})",
            checking[0],
            code.len()
        );
    }
}

/// The `:dep` lines of a notebook's first code cell (where every notebook declares its crates), with the chapter
/// crates' relative paths made absolute.
fn kernel_dependencies(notebook: &Path) -> Vec<String> {
    let first_code = cells(notebook)
        .into_iter()
        .find(|cell| cell["cell_type"] == "code")
        .expect("a notebook has code");
    let notebooks_dir = notebook.parent().unwrap().display().to_string();
    text_of(&first_code["source"])
        .lines()
        .filter_map(|line| line.strip_prefix(":dep "))
        .map(|dep| dep.replace("\"../", &format!("\"{notebooks_dir}/../")))
        .collect()
}

/// Each crates.io crate a kernel with these dependencies compiles, as `name version`, with the features cargo turns
/// on for it: what `cargo tree` resolves for a scratch crate declaring them, as evcxr's kernel crate does.
fn registry_features(dependencies: &[String], scratch: &Path) -> BTreeMap<String, String> {
    std::fs::create_dir_all(scratch.join("src")).unwrap();
    std::fs::write(scratch.join("src/lib.rs"), "").unwrap();
    let manifest = format!(
        "[package]\nname = \"kernel\"\nversion = \"1.0.0\"\nedition = \"2024\"\n\n[dependencies]\n{}\n\n[workspace]\n",
        dependencies.join("\n")
    );
    std::fs::write(scratch.join("Cargo.toml"), manifest).unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(scratch)
        .args(["tree", "--edges=normal,build", "--prefix=none", "--format={p}|{f}"])
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| line.trim_end_matches(" (*)").split_once('|'))
        .filter(|(package, _)| !package.contains(" (")) // a path: a chapter crate, built anew by every kernel
        .map(|(package, features)| (package.to_string(), features.to_string()))
        .collect()
}

/// evcxr caches each compiled crates.io crate under a key made of its compiler command, which names its features
/// and, through their hashes, its dependencies' features. If one notebook's crates turn on a feature of a crate deep
/// under burn that another's do not, every crate above it gets another key, and that notebook's kernel compiles
/// burn and wgpu again from scratch: about 15 minutes of CI on two cores.
#[test]
fn every_notebook_kernel_compiles_the_shared_crates_with_the_same_features() {
    let notebooks = files_with_extension(&repo_root().join("notebooks"), "ipynb");
    let scratch = std::env::temp_dir().join(format!("notebook-kernels-{}", std::process::id()));
    let mut first_seen: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut mismatches = Vec::new();
    for (index, notebook) in notebooks.iter().enumerate() {
        let name = notebook.file_name().unwrap().to_string_lossy().to_string();
        let features = registry_features(&kernel_dependencies(notebook), &scratch.join(index.to_string()));
        assert!(
            features.keys().any(|p| p.starts_with("burn ")),
            "{name}'s kernel builds no burn"
        );
        assert!(
            !features.keys().any(|p| p.starts_with("wgpu ")),
            "{name}'s kernel builds the wgpu backend, which doubles its first compilation: take the `wgpu` feature out \
             of its `:dep` lines (a learner with a GPU turns it on)"
        );
        for (package, features) in features {
            match first_seen.get(&package) {
                Some((other, seen)) if *seen != features => {
                    mismatches.push(format!("{package}: [{seen}] in {other}, [{features}] in {name}"))
                }
                Some(_) => {}
                None => {
                    first_seen.insert(package, (name.clone(), features));
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(scratch);
    assert!(
        mismatches.is_empty(),
        "the notebooks' kernels compile these crates with different features, so each kernel rebuilds burn instead \
         of reusing the cache (give every notebook the dependency that turns them on, e.g. through `common`):\n{}",
        mismatches.join("\n")
    );
}
