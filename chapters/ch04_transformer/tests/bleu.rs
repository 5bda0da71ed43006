//! Our BLEU against sacreBLEU's on the committed fixture (see `fixtures/make_sacrebleu_fixture.py`).

use approx::assert_abs_diff_eq;
use serde::Deserialize;
use transformer::bleu::corpus_bleu;

#[derive(Deserialize)]
struct Case {
    name: String,
    hypotheses: Vec<String>,
    references: Vec<String>,
    score: f64,
    precisions: Vec<f64>,
    brevity_penalty: f64,
}

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

/// sacreBLEU's `tokenize="none"`: split on spaces.
fn tokenize(sentences: &[String]) -> Vec<Vec<&str>> {
    sentences.iter().map(|s| s.split(' ').collect()).collect()
}

#[test]
fn bleu_matches_sacrebleu() {
    let fixture: Fixture = serde_json::from_str(include_str!("../fixtures/sacrebleu.json")).unwrap();
    assert!(fixture.cases.len() >= 5);
    for case in &fixture.cases {
        let (hypotheses, references) = (tokenize(&case.hypotheses), tokenize(&case.references));
        let bleu = corpus_bleu(&hypotheses, &references);
        assert_abs_diff_eq!(bleu.score, case.score, epsilon = 1e-9);
        assert_abs_diff_eq!(bleu.brevity_penalty, case.brevity_penalty, epsilon = 1e-12);
        for (ours, theirs) in bleu.precisions.iter().zip(&case.precisions) {
            assert_abs_diff_eq!(ours, theirs, epsilon = 1e-9);
        }
        eprintln!("{}: BLEU {:.2}", case.name, bleu.score);
    }
}
