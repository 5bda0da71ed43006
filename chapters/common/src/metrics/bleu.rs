//! Corpus BLEU (Papineni et al., 2002), written from the formula (chapter 4), tested against sacreBLEU on the
//! committed fixture (`fixtures/make_sacrebleu_fixture.py`).

use std::collections::HashMap;

/// The parts of a BLEU score, for reporting.
#[derive(Debug, Clone, PartialEq)]
pub struct Bleu {
    /// 100 · BP · exp(1/4 Σ_{n=1}⁴ log p_n), as sacreBLEU reports it.
    pub score: f64,
    /// The modified n-gram precisions p_1..p_4, in percent.
    pub precisions: [f64; 4],
    /// BP = 1 if the hypotheses are longer than the references in total (c > r), else e^(1 - r/c).
    pub brevity_penalty: f64,
}

fn ngram_counts<'a>(tokens: &'a [&'a str], n: usize) -> HashMap<&'a [&'a str], usize> {
    let mut counts = HashMap::new();
    for gram in tokens.windows(n) {
        *counts.entry(gram).or_insert(0) += 1;
    }
    counts
}

// ANCHOR: corpus_bleu
/// BLEU of `hypotheses` against one reference each; sentences are token lists.
///
/// For each n ≤ 4, the *modified precision* p_n counts each hypothesis n-gram as correct at most as many
/// times as it occurs in the reference ("the the the" earns one "the" against "the cat"), summed over the whole
/// corpus before dividing. Precision alone rewards short, safe output, so the *brevity penalty* BP punishes a
/// corpus of hypotheses shorter than its references. Any p_n = 0 makes BLEU 0 (no smoothing).
pub fn corpus_bleu(hypotheses: &[Vec<&str>], references: &[Vec<&str>]) -> Bleu {
    assert_eq!(hypotheses.len(), references.len(), "one reference per hypothesis");
    let (mut matches, mut totals) = ([0usize; 4], [0usize; 4]);
    for (hypothesis, reference) in hypotheses.iter().zip(references) {
        for n in 1..=4 {
            let reference_counts = ngram_counts(reference, n);
            for (gram, count) in ngram_counts(hypothesis, n) {
                matches[n - 1] += count.min(reference_counts.get(gram).copied().unwrap_or(0));
            }
            totals[n - 1] += hypothesis.len().saturating_sub(n - 1);
        }
    }
    let precisions = std::array::from_fn(|i| {
        if totals[i] == 0 {
            0.0
        } else {
            matches[i] as f64 / totals[i] as f64
        }
    });
    let c: usize = hypotheses.iter().map(Vec::len).sum();
    let r: usize = references.iter().map(Vec::len).sum();
    let brevity_penalty = if c > r {
        1.0
    } else if c == 0 {
        0.0
    } else {
        (1.0 - r as f64 / c as f64).exp()
    };
    let score = if precisions.contains(&0.0) {
        0.0
    } else {
        brevity_penalty * (precisions.iter().map(|p: &f64| p.ln()).sum::<f64>() / 4.0).exp()
    };
    Bleu {
        score: 100.0 * score,
        precisions: precisions.map(|p| 100.0 * p),
        brevity_penalty,
    }
}
// ANCHOR_END: corpus_bleu

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

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
        let fixture: Fixture = serde_json::from_str(include_str!("../../fixtures/sacrebleu.json")).unwrap();
        assert!(fixture.cases.len() >= 5);
        let close = |a: f64, b: f64, eps: f64| (a - b).abs() < eps;
        for case in &fixture.cases {
            let bleu = corpus_bleu(&tokenize(&case.hypotheses), &tokenize(&case.references));
            assert!(
                close(bleu.score, case.score, 1e-9),
                "{}: BLEU {} against {}",
                case.name,
                bleu.score,
                case.score
            );
            assert!(
                close(bleu.brevity_penalty, case.brevity_penalty, 1e-12),
                "{}",
                case.name
            );
            for (ours, theirs) in bleu.precisions.iter().zip(&case.precisions) {
                assert!(
                    close(*ours, *theirs, 1e-9),
                    "{}: precision {ours} against {theirs}",
                    case.name
                );
            }
        }
    }
}
