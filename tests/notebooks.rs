//! Executes every notebook headless through the evcxr Jupyter kernel, as a learner would run it top to bottom,
//! and fails on any error output. Needs `jupyter` and `evcxr_jupyter` (`.ci/run` installs both); built only with
//! `--features notebooks`.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use workspace_tests::{files_with_extension, repo_root};

/// The cells of an executed notebook. The kernel compiles its cells in a folder of ours (`EVCXR_TMPDIR`), removed
/// once it stops: evcxr's own temporary folder survives nbconvert stopping the kernel, with ~2 GB of build output.
fn execute(notebook: &Path, out_dir: &Path) -> Vec<Value> {
    let build_dir = out_dir.join("kernel-build");
    let status = Command::new("jupyter")
        .env("EVCXR_TMPDIR", &build_dir)
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
    let _ = std::fs::remove_dir_all(&build_dir);
    assert!(
        status.success(),
        "{} did not execute: nbconvert exited with {status}",
        notebook.display()
    );
    let executed = out_dir.join(notebook.file_name().unwrap());
    let json: Value = serde_json::from_str(&std::fs::read_to_string(executed).unwrap()).unwrap();
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
    for notebook in &notebooks {
        let name = notebook.file_name().unwrap().to_string_lossy();
        eprintln!("executing {name}");
        let cells = execute(notebook, &out_dir);
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
    }
    let _ = std::fs::remove_dir_all(out_dir);
}
