//! ROUGE (Lin, 2004): how much of a reference text a generated one recalls, as Google's `rouge-score` package
//! computes it: ROUGE-N on n-grams, ROUGE-L on the longest common subsequence, ROUGE-Lsum on the union of those
//! subsequences sentence by sentence, with or without its Porter stemmer ([`super::porter`]). Tested against that
//! package's values (`fixtures/rouge_score_fixture.py`).
//!
//! Where BLEU (chapter 4) asks how much of the output is right (precision, with a brevity penalty), ROUGE was made
//! for summaries and reports both sides: precision (of the prediction's units, how many the reference has),
//! recall (of the reference's, how many the prediction has) and their harmonic mean F_1.

use std::collections::HashMap;

use super::porter::porter_stem;

/// Precision, recall and F_1 = 2PR/(P + R) (0 when both are 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RougeScore {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl RougeScore {
    fn new(precision: f64, recall: f64) -> Self {
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        RougeScore { precision, recall, f1 }
    }

    const ZERO: RougeScore = RougeScore {
        precision: 0.0,
        recall: 0.0,
        f1: 0.0,
    };
}

/// The four scores `rouge-score` reports most often.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rouge {
    pub rouge1: RougeScore,
    pub rouge2: RougeScore,
    pub rouge_l: RougeScore,
    pub rouge_lsum: RougeScore,
}

/// ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum of `prediction` against `reference` (sentences on lines, for Lsum).
pub fn rouge(reference: &str, prediction: &str) -> Rouge {
    rouge_by(reference, prediction, rouge_tokenize)
}

/// [`rouge`] with `rouge-score`'s `use_stemmer=True`: the forms of a word count as one ("connected" and
/// "connection" are both "connect"), through [`rouge_tokenize_stemmed`].
pub fn rouge_stemmed(reference: &str, prediction: &str) -> Rouge {
    rouge_by(reference, prediction, rouge_tokenize_stemmed)
}

fn rouge_by(reference: &str, prediction: &str, tokenize: fn(&str) -> Vec<String>) -> Rouge {
    let (r, p) = (tokenize(reference), tokenize(prediction));
    Rouge {
        rouge1: rouge_n(&r, &p, 1),
        rouge2: rouge_n(&r, &p, 2),
        rouge_l: rouge_l(&r, &p),
        rouge_lsum: rouge_lsum_by(reference, prediction, tokenize),
    }
}

// ANCHOR: tokenize
/// `rouge-score`'s tokenizer (after the original ROUGE script): lower-case, every run of characters other than
/// ASCII letters and digits becomes a word break. "Don't stop!" is `["don", "t", "stop"]`; accented letters are
/// breaks too.
pub fn rouge_tokenize(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .filter(|word| !word.is_empty())
        .map(str::to_string)
        .collect()
}

/// [`rouge_tokenize`], then each word of more than three letters replaced by its Porter stem (shorter words are
/// left alone, as `rouge-score` does).
pub fn rouge_tokenize_stemmed(text: &str) -> Vec<String> {
    let stem = |word: String| if word.len() > 3 { porter_stem(&word) } else { word };
    rouge_tokenize(text).into_iter().map(stem).collect()
}
// ANCHOR_END: tokenize

// ANCHOR: rouge_n
/// ROUGE-N: the n-grams both texts share, each counted as often as the rarer side has it, over the prediction's
/// n-grams (precision) and the reference's (recall).
pub fn rouge_n(reference: &[String], prediction: &[String], n: usize) -> RougeScore {
    assert!(n > 0, "ROUGE-N needs n >= 1");
    let (r, p) = (ngram_counts(reference, n), ngram_counts(prediction, n));
    let overlap: usize = r
        .iter()
        .map(|(gram, &c)| c.min(p.get(gram).copied().unwrap_or(0)))
        .sum();
    let total = |counts: &HashMap<&[String], usize>| counts.values().sum::<usize>().max(1) as f64;
    RougeScore::new(overlap as f64 / total(&p), overlap as f64 / total(&r))
}

fn ngram_counts(tokens: &[String], n: usize) -> HashMap<&[String], usize> {
    let mut counts = HashMap::new();
    for gram in tokens.windows(n) {
        *counts.entry(gram).or_default() += 1;
    }
    counts
}
// ANCHOR_END: rouge_n

// ANCHOR: rouge_l
/// ROUGE-L: the longest common subsequence (words in the same order, gaps allowed), P = LCS/|p|,
/// R = LCS/|r|.
pub fn rouge_l(reference: &[String], prediction: &[String]) -> RougeScore {
    if reference.is_empty() || prediction.is_empty() {
        return RougeScore::ZERO;
    }
    let lcs = lcs_table(reference, prediction)[reference.len()][prediction.len()];
    RougeScore::new(
        lcs as f64 / prediction.len() as f64,
        lcs as f64 / reference.len() as f64,
    )
}

/// `table[i][j]`: the length of the longest common subsequence of `a[..i]` and `b[..j]`, by dynamic programming.
fn lcs_table(a: &[String], b: &[String]) -> Vec<Vec<usize>> {
    let mut table = vec![vec![0; b.len() + 1]; a.len() + 1];
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            table[i][j] = if a[i - 1] == b[j - 1] {
                table[i - 1][j - 1] + 1
            } else {
                table[i - 1][j].max(table[i][j - 1])
            };
        }
    }
    table
}
// ANCHOR_END: rouge_l

/// The positions in `a` of one longest common subsequence with `b`, read back from the table (from the end,
/// preferring to drop from `a` on ties, as `rouge-score` does: with several subsequences, which one is taken
/// changes ROUGE-Lsum).
fn lcs_positions(a: &[String], b: &[String]) -> Vec<usize> {
    let table = lcs_table(a, b);
    let (mut i, mut j, mut positions) = (a.len(), b.len(), Vec::new());
    while i > 0 && j > 0 {
        if a[i - 1] == b[j - 1] {
            positions.push(i - 1);
            i -= 1;
            j -= 1;
        } else if table[i][j - 1] > table[i - 1][j] {
            j -= 1;
        } else {
            i -= 1;
        }
    }
    positions.reverse();
    positions
}

// ANCHOR: rouge_lsum
/// ROUGE-Lsum (the paper's summary-level LCS): texts are split into sentences at newlines; for each reference
/// sentence, the union of its LCS positions with every predicted sentence counts as hits, each word at most as
/// often as either text has it; P and R divide by the words of the whole prediction and reference.
pub fn rouge_lsum(reference: &str, prediction: &str) -> RougeScore {
    rouge_lsum_by(reference, prediction, rouge_tokenize)
}

fn rouge_lsum_by(reference: &str, prediction: &str, tokenize: fn(&str) -> Vec<String>) -> RougeScore {
    let sentences =
        |text: &str| -> Vec<Vec<String>> { text.split('\n').filter(|s| !s.is_empty()).map(tokenize).collect() };
    let (r, p) = (sentences(reference), sentences(prediction));
    let (m, n) = (
        r.iter().map(Vec::len).sum::<usize>(),
        p.iter().map(Vec::len).sum::<usize>(),
    );
    if m == 0 || n == 0 {
        return RougeScore::ZERO;
    }
    let counts = |sentences: &[Vec<String>]| {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for word in sentences.iter().flatten() {
            *counts.entry(word.clone()).or_default() += 1;
        }
        counts
    };
    let (mut left_r, mut left_p) = (counts(&r), counts(&p));
    let mut hits = 0;
    for sentence in &r {
        let mut union: Vec<usize> = p.iter().flat_map(|c| lcs_positions(sentence, c)).collect();
        union.sort_unstable();
        union.dedup();
        for word in union.iter().map(|&i| &sentence[i]) {
            let (in_r, in_p) = (left_r.get_mut(word), left_p.get_mut(word));
            if let (Some(in_r), Some(in_p)) = (in_r, in_p)
                && *in_r > 0
                && *in_p > 0
            {
                hits += 1;
                *in_r -= 1;
                *in_p -= 1;
            }
        }
    }
    RougeScore::new(hits as f64 / n as f64, hits as f64 / m as f64)
}
// ANCHOR_END: rouge_lsum

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;
    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize)]
    struct Case {
        reference: String,
        prediction: String,
        /// `rouge1`, `rouge2`, `rougeL`, `rougeLsum` to `[precision, recall, f]`.
        scores: HashMap<String, [f64; 3]>,
        /// The same with `use_stemmer=True`.
        stemmed_scores: HashMap<String, [f64; 3]>,
    }

    #[derive(Deserialize)]
    struct Fixture {
        cases: Vec<Case>,
    }

    #[test]
    fn rouge_matches_rouge_score() {
        let fixture: Fixture = serde_json::from_str(include_str!("../../fixtures/rouge_score.json")).unwrap();
        assert!(fixture.cases.len() >= 30);
        for (case, stemmed) in fixture.cases.iter().flat_map(|case| [(case, false), (case, true)]) {
            let (ours, expected) = if stemmed {
                (rouge_stemmed(&case.reference, &case.prediction), &case.stemmed_scores)
            } else {
                (rouge(&case.reference, &case.prediction), &case.scores)
            };
            for (kind, score) in [
                ("rouge1", ours.rouge1),
                ("rouge2", ours.rouge2),
                ("rougeL", ours.rouge_l),
                ("rougeLsum", ours.rouge_lsum),
            ] {
                let [p, r, f] = expected[kind];
                let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
                assert!(
                    close(score.precision, p) && close(score.recall, r) && close(score.f1, f),
                    "{kind} (stemmed: {stemmed}) of {:?} against {:?}: ours {score:?}, rouge-score P {p} R {r} F {f}",
                    case.prediction,
                    case.reference
                );
            }
        }
    }

    #[test]
    fn the_tokenizer_keeps_ascii_letters_and_digits_only() {
        assert_eq!(
            rouge_tokenize("Don't STOP, naïve 2024!"),
            ["don", "t", "stop", "na", "ve", "2024"]
        );
    }

    #[test]
    fn stemming_makes_a_words_forms_one() {
        assert_eq!(
            rouge_tokenize_stemmed("Connected CONNECTING connection, the sky's skies"),
            ["connect", "connect", "connect", "the", "sky", "s", "sky"]
        );
        let (plain, stemmed) = (
            rouge("the connected cities", "a connection of city"),
            rouge_stemmed("the connected cities", "a connection of city"),
        );
        assert_eq!((plain.rouge1.recall, stemmed.rouge1.recall), (0.0, 2.0 / 3.0));
    }

    fn sentence() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(vec!["the", "a", "cat", "dog", "sat", "on"]), 0..8)
            .prop_map(|words| words.join(" "))
    }

    proptest! {
        #[test]
        fn a_text_against_itself_scores_one(text in sentence().prop_filter("two words", |t| t.split(' ').count() >= 2)) {
            let score = rouge(&text, &text);
            for s in [score.rouge1, score.rouge2, score.rouge_l, score.rouge_lsum] {
                prop_assert!((s.f1 - 1.0).abs() < 1e-12, "{s:?}");
            }
        }

        #[test]
        fn swapping_the_texts_swaps_precision_and_recall(a in sentence(), b in sentence()) {
            let (ab, ba) = (rouge(&a, &b), rouge(&b, &a));
            for (x, y) in [(ab.rouge1, ba.rouge1), (ab.rouge2, ba.rouge2), (ab.rouge_l, ba.rouge_l)] {
                prop_assert_eq!((x.precision, x.recall, x.f1), (y.recall, y.precision, y.f1));
            }
        }

        #[test]
        fn f1_is_the_harmonic_mean_and_the_lcs_at_most_the_unigram_overlap(a in sentence(), b in sentence()) {
            let score = rouge(&a, &b);
            for s in [score.rouge1, score.rouge2, score.rouge_l, score.rouge_lsum] {
                let harmonic = if s.precision + s.recall > 0.0 { 2.0 / (1.0 / s.precision + 1.0 / s.recall) } else { 0.0 };
                prop_assert!((s.f1 - harmonic).abs() < 1e-12, "{s:?}");
            }
            // A common subsequence's words are shared unigrams: the LCS is at most the unigram overlap.
            prop_assert!(score.rouge_l.recall <= score.rouge1.recall + 1e-12);
        }
    }
}
