//! Executes every notebook headless through the evcxr Jupyter kernel, as a learner would run it top to bottom,
//! and fails on any error output (a notebook `assert!`s the numbers it claims); checks that the kernels can share
//! one build. Needs `jupyter` and `evcxr_jupyter` (`.ci/run` installs both); built only with `--features notebooks`.
//!
//! The notebooks are committed with their outputs, so that GitHub and the book show their figures. To refresh
//! them: `LLM_NOTEBOOKS_SAVE=1 cargo test --workspace --all-features --test notebooks`, which writes each executed
//! notebook back over its source once it passed.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde_json::Value;
use workspace_tests::{files_with_extension, repo_root};

/// The cells of an executed notebook. The kernel compiles its cells in `build_dir` (`EVCXR_TMPDIR`), which every
/// notebook shares: cargo then finds the dependencies and the chapter crates the kernel before it compiled still
/// fresh there, and a kernel compiles only its own cells.
fn execute(notebook: &Path, out_dir: &Path, build_dir: &Path) -> Vec<Value> {
    let status = Command::new("jupyter")
        .env("EVCXR_TMPDIR", build_dir)
        .args([
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--ExecutePreprocessor.timeout=1800",
        ])
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

#[test]
fn every_notebook_runs_without_error_shows_figures_and_ends_with_exercises() {
    let notebooks = files_with_extension(&repo_root().join("notebooks"), "ipynb");
    assert!(!notebooks.is_empty(), "no notebooks found");
    let out_dir = std::env::temp_dir().join(format!("notebooks-{}", std::process::id()));
    // `.ci/run` names the folder where its warm-up kernel already compiled every dependency; by default, a folder
    // of this run's, removed at the end (it holds ~2 GB of build output).
    let build_dir =
        std::env::var_os("LLM_NOTEBOOK_KERNEL_DIR").map_or_else(|| out_dir.join("kernel-build"), Into::into);
    for notebook in &notebooks {
        let name = notebook.file_name().unwrap().to_string_lossy();
        let start = Instant::now();
        let cells = execute(notebook, &out_dir, &build_dir);
        eprintln!("executed {name} in {:.0} s", start.elapsed().as_secs_f64());
        for (index, cell) in cells.iter().enumerate() {
            let errors = errors(cell);
            assert!(errors.is_empty(), "{name}, cell {index}: {}", errors.join("\n"));
        }
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
        if std::env::var_os("LLM_NOTEBOOKS_SAVE").is_some() {
            std::fs::copy(out_dir.join(notebook.file_name().unwrap()), notebook).expect("the notebook can be written");
        }
    }
    let _ = std::fs::remove_dir_all(out_dir);
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
            "{name}'s kernel builds the wgpu backend, which doubles its first compilation: give its chapter crates \
             `default-features = false` (a learner with a GPU turns the `wgpu` feature on)"
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
