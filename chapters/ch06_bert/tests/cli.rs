//! The command line, run as a user runs it: a tiny pretraining run, then `fill` on its checkpoint and on a
//! Hugging Face folder, `embed` on all-MiniLM-L6-v2, and the mistakes a user makes, each an exit code 1 (an error
//! from `main`; a panic would be 101) with a message naming the problem.

use std::path::Path;
use std::process::Command;

use bert::RunConfig;
use common::testing::Outcome;

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
