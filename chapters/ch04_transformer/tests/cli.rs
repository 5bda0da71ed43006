//! The chapter's command line: arguments it cannot train with are an error that names them, not a panic.

use std::process::Command;

#[test]
fn impossible_arguments_are_errors_naming_the_flag() {
    let cases: [(&[&str], &str); 5] = [
        (&["--steps", "0"], "--steps must be at least 1"),
        (&["--train", "0"], "--train and --val need at least one number"),
        (&["--test", "0"], "--test needs at least one number"),
        (&["--batch-size", "0"], "--batch-size must be at least 1"),
        (
            &["--train", "999000", "--val", "1000", "--test", "1000"],
            "ask for 1001000 numbers",
        ),
    ];
    for (args, expected) in cases {
        let output = Command::new(env!("CARGO_BIN_EXE_transformer"))
            .args(args)
            .args(["--device", "cpu", "--out"])
            .arg(std::env::temp_dir().join(format!("ch04-cli-{}", std::process::id())))
            .env("RUST_BACKTRACE", "0")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        // A panic exits with 101; an error returned from main with 1.
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

fn transformer(out: &std::path::Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_transformer"))
        .args([
            "--device", "cpu", "--steps", "1", "--train", "10", "--val", "5", "--test", "5", "--out",
        ])
        .arg(out)
        .args(extra)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

/// The kit's run-directory rules, as this chapter's command meets them: a second run does not replace the first's
/// checkpoint unless asked, files beside it are left alone, and a file where the directory goes is refused.
#[test]
fn a_run_never_replaces_a_checkpoint_unasked_nor_touches_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let first = transformer(&out, &[]);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let state = out.join("checkpoint").join("state.json");
    let saved = std::fs::read(&state).unwrap();

    let again = transformer(&out, &[]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("already holds a checkpoint") && stderr.contains("--overwrite"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&state).unwrap(), saved);
    let replaced = transformer(&out, &["--overwrite", "--seed", "1"]);
    assert_eq!(
        replaced.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&replaced.stderr)
    );
    assert_eq!(std::fs::read_to_string(out.join("notes.txt")).unwrap(), "mine");

    let file = dir.path().join("a-file");
    std::fs::write(&file, "mine").unwrap();
    let refused = transformer(&file, &[]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is a file, not a directory"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
}
