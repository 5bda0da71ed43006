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
