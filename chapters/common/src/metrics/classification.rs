//! Scores of a classifier, as scikit-learn's `classification_report`, `confusion_matrix`,
//! `precision_recall_curve` and `average_precision_score` compute them (a ratio with a zero denominator is 0,
//! scikit-learn's `zero_division=0`).
//!
//! Why more than accuracy: on a data set where 87% of the examples are of one class, answering that class every
//! time is 87% accurate and finds none of the other. Precision and recall per class say what a model finds and at
//! what price.

use serde::{Deserialize, Serialize};

// ANCHOR: confusion
/// `counts[i][j]`: how many examples of true class i were predicted as class j. The diagonal holds the right
/// answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    pub counts: Vec<Vec<usize>>,
}

impl ConfusionMatrix {
    /// The matrix of `predicted` against `truth` (class indices below `num_classes`).
    ///
    /// # Panics
    /// If the two have different lengths or a class is out of range: a caller's bug, not bad input.
    pub fn new(num_classes: usize, truth: &[usize], predicted: &[usize]) -> Self {
        assert_eq!(truth.len(), predicted.len(), "one prediction per example");
        let mut counts = vec![vec![0; num_classes]; num_classes];
        for (&t, &p) in truth.iter().zip(predicted) {
            counts[t][p] += 1;
        }
        ConfusionMatrix { counts }
    }

    pub fn num_classes(&self) -> usize {
        self.counts.len()
    }

    pub fn total(&self) -> usize {
        self.counts.iter().flatten().sum()
    }

    /// Share of right answers: Σ_i n_ii / n.
    pub fn accuracy(&self) -> f64 {
        let right: usize = (0..self.num_classes()).map(|i| self.counts[i][i]).sum();
        ratio(right, self.total())
    }

    /// Precision of class c: of the examples predicted c, the share that are c: TP / (TP + FP).
    pub fn precision(&self, c: usize) -> f64 {
        let predicted_c: usize = self.counts.iter().map(|row| row[c]).sum();
        ratio(self.counts[c][c], predicted_c)
    }

    /// Recall of class c: of the examples of class c, the share predicted c: TP / (TP + FN).
    pub fn recall(&self, c: usize) -> f64 {
        ratio(self.counts[c][c], self.support(c))
    }

    /// F_1 of class c, the harmonic mean of its precision P and recall R: 2PR / (P + R).
    pub fn f1(&self, c: usize) -> f64 {
        let (p, r) = (self.precision(c), self.recall(c));
        if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
    }

    /// How many examples are of class c.
    pub fn support(&self, c: usize) -> usize {
        self.counts[c].iter().sum()
    }
}
// ANCHOR_END: confusion

fn ratio(numerator: usize, denominator: usize) -> f64 {
    if denominator == 0 {
        0.0
    } else {
        numerator as f64 / denominator as f64
    }
}

// ANCHOR: report
/// Precision, recall and F_1 of one class (or their average over classes), and how many examples it has.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

/// scikit-learn's `classification_report`: the scores of each class, their plain mean over classes (macro: every
/// class counts the same) and their mean weighted by support (weighted: every example counts the same), accuracy,
/// and the confusion matrix they come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub per_class: Vec<ClassScores>,
    pub macro_avg: ClassScores,
    pub weighted_avg: ClassScores,
    pub accuracy: f64,
    pub confusion: ConfusionMatrix,
}

impl Report {
    pub fn new(num_classes: usize, truth: &[usize], predicted: &[usize]) -> Self {
        let confusion = ConfusionMatrix::new(num_classes, truth, predicted);
        let per_class: Vec<ClassScores> = (0..num_classes)
            .map(|c| ClassScores {
                precision: confusion.precision(c),
                recall: confusion.recall(c),
                f1: confusion.f1(c),
                support: confusion.support(c),
            })
            .collect();
        let total = confusion.total();
        let average = |weight: &dyn Fn(&ClassScores) -> f64| {
            let of = |score: fn(&ClassScores) -> f64| per_class.iter().map(|s| weight(s) * score(s)).sum::<f64>();
            ClassScores {
                precision: of(|s| s.precision),
                recall: of(|s| s.recall),
                f1: of(|s| s.f1),
                support: total,
            }
        };
        Report {
            macro_avg: average(&|_| 1.0 / num_classes as f64),
            weighted_avg: average(&|s| ratio(s.support, total)),
            accuracy: confusion.accuracy(),
            per_class,
            confusion,
        }
    }
}
// ANCHOR_END: report

// ANCHOR: pr_curve
/// One point of a precision-recall curve: predicting positive every example scored at least `threshold` gives
/// this precision and recall.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PrPoint {
    pub threshold: f64,
    pub precision: f64,
    pub recall: f64,
}

/// The precision and recall at every distinct score taken as the threshold, highest threshold first (recall
/// rising): `positive[i]` says whether example i is of the positive class, `scores[i]` how positive the model
/// thinks it is. scikit-learn's `precision_recall_curve`, without the (precision 1, recall 0) point it appends.
pub fn precision_recall_curve(positive: &[bool], scores: &[f64]) -> Vec<PrPoint> {
    assert_eq!(positive.len(), scores.len(), "one score per example");
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let positives = positive.iter().filter(|&&p| p).count();
    let (mut tp, mut fp) = (0, 0);
    let mut curve = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        if positive[i] {
            tp += 1;
        } else {
            fp += 1;
        }
        let last_of_its_score = order.get(k + 1).is_none_or(|&next| scores[next] != scores[i]);
        if last_of_its_score {
            curve.push(PrPoint {
                threshold: scores[i],
                precision: ratio(tp, tp + fp),
                // scikit-learn's convention when there is no positive example at all: recall 1.
                recall: if positives == 0 { 1.0 } else { ratio(tp, positives) },
            });
        }
    }
    curve
}

/// Average precision, the area under the precision-recall curve as a step function:
/// AP = Σ_k (R_k - R_{k-1})·P_k over the thresholds from the highest down, R_0 = 0
/// (scikit-learn's `average_precision_score`; no interpolation).
pub fn average_precision(positive: &[bool], scores: &[f64]) -> f64 {
    let mut previous_recall = 0.0;
    precision_recall_curve(positive, scores)
        .iter()
        .map(|point| {
            let area = (point.recall - previous_recall) * point.precision;
            previous_recall = point.recall;
            area
        })
        .sum()
}
// ANCHOR_END: pr_curve

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize)]
    struct SklearnScores {
        precision: f64,
        recall: f64,
        #[serde(rename = "f1-score")]
        f1: f64,
        support: f64,
    }

    #[derive(Deserialize)]
    struct ReportCase {
        name: String,
        num_classes: usize,
        truth: Vec<usize>,
        predicted: Vec<usize>,
        per_class: Vec<SklearnScores>,
        #[serde(rename = "macro")]
        macro_avg: SklearnScores,
        weighted: SklearnScores,
        accuracy: f64,
        confusion: Vec<Vec<usize>>,
    }

    #[derive(Deserialize)]
    struct CurveCase {
        name: String,
        positive: Vec<bool>,
        scores: Vec<f64>,
        thresholds: Vec<f64>,
        precision: Vec<f64>,
        recall: Vec<f64>,
        average_precision: f64,
    }

    #[derive(Deserialize)]
    struct Fixture {
        reports: Vec<ReportCase>,
        curves: Vec<CurveCase>,
    }

    /// `fixtures/sklearn_metrics.py` ran scikit-learn on these vectors.
    fn fixture() -> Fixture {
        serde_json::from_str(include_str!("../../fixtures/sklearn_metrics.json")).unwrap()
    }

    fn assert_scores(name: &str, ours: &ClassScores, theirs: &SklearnScores) {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(
            close(ours.precision, theirs.precision)
                && close(ours.recall, theirs.recall)
                && close(ours.f1, theirs.f1)
                && ours.support as f64 == theirs.support,
            "{name}: ours {ours:?}, scikit-learn P {} R {} F1 {} n {}",
            theirs.precision,
            theirs.recall,
            theirs.f1,
            theirs.support
        );
    }

    #[test]
    fn the_report_equals_scikit_learns() {
        for case in fixture().reports {
            let report = Report::new(case.num_classes, &case.truth, &case.predicted);
            assert_eq!(report.confusion.counts, case.confusion, "{}", case.name);
            assert!((report.accuracy - case.accuracy).abs() < 1e-12, "{}", case.name);
            for (c, (ours, theirs)) in report.per_class.iter().zip(&case.per_class).enumerate() {
                assert_scores(&format!("{} class {c}", case.name), ours, theirs);
            }
            assert_scores(&format!("{} macro", case.name), &report.macro_avg, &case.macro_avg);
            assert_scores(&format!("{} weighted", case.name), &report.weighted_avg, &case.weighted);
        }
    }

    #[test]
    fn the_precision_recall_curve_and_average_precision_equal_scikit_learns() {
        for case in fixture().curves {
            let curve = precision_recall_curve(&case.positive, &case.scores);
            let column = |f: fn(&PrPoint) -> f64| curve.iter().map(f).collect::<Vec<_>>();
            assert_eq!(column(|p| p.threshold), case.thresholds, "{}", case.name);
            for (ours, theirs) in [
                (column(|p| p.precision), &case.precision),
                (column(|p| p.recall), &case.recall),
            ] {
                assert_eq!(ours.len(), theirs.len(), "{}", case.name);
                assert!(
                    ours.iter().zip(theirs).all(|(a, b)| (a - b).abs() < 1e-12),
                    "{}",
                    case.name
                );
            }
            let ap = average_precision(&case.positive, &case.scores);
            assert!(
                (ap - case.average_precision).abs() < 1e-12,
                "{}: {ap} vs {}",
                case.name,
                case.average_precision
            );
        }
    }

    /// Up to 60 examples of 3 classes: (truth, predicted).
    fn labels() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
        prop::collection::vec((0..3usize, 0..3usize), 1..60).prop_map(|pairs| pairs.into_iter().unzip())
    }

    proptest! {
        #[test]
        fn f1_is_the_harmonic_mean_of_precision_and_recall((truth, predicted) in labels()) {
            let m = ConfusionMatrix::new(3, &truth, &predicted);
            for c in 0..3 {
                let (p, r) = (m.precision(c), m.recall(c));
                if p > 0.0 && r > 0.0 {
                    prop_assert!((1.0 / m.f1(c) - (1.0 / p + 1.0 / r) / 2.0).abs() < 1e-9);
                } else {
                    prop_assert_eq!(m.f1(c), 0.0);
                }
            }
        }

        #[test]
        fn perfect_predictions_score_one((truth, _) in labels()) {
            let report = Report::new(3, &truth, &truth);
            prop_assert_eq!(report.accuracy, 1.0);
            for (c, scores) in report.per_class.iter().enumerate() {
                if scores.support > 0 {
                    prop_assert_eq!((scores.precision, scores.recall, scores.f1), (1.0, 1.0, 1.0), "class {}", c);
                }
            }
        }

        #[test]
        fn swapping_two_labels_swaps_their_scores((truth, predicted) in labels()) {
            let swap = |v: &[usize]| v.iter().map(|&c| [1, 0, 2][c]).collect::<Vec<_>>();
            let before = Report::new(3, &truth, &predicted);
            let after = Report::new(3, &swap(&truth), &swap(&predicted));
            prop_assert_eq!(before.per_class[0], after.per_class[1]);
            prop_assert_eq!(before.per_class[1], after.per_class[0]);
            prop_assert_eq!(before.per_class[2], after.per_class[2]);
            prop_assert_eq!(before.accuracy, after.accuracy);
        }

        #[test]
        fn average_precision_is_one_when_every_positive_outscores_every_negative(
            positive in prop::collection::vec(any::<bool>(), 2..40),
        ) {
            prop_assume!(positive.contains(&true));
            let scores: Vec<f64> = positive
                .iter()
                .enumerate()
                .map(|(i, &p)| if p { 2.0 } else { 1.0 } + i as f64 * 1e-3)
                .collect();
            prop_assert!((average_precision(&positive, &scores) - 1.0).abs() < 1e-12);
        }
    }
}
