//! Evaluation metrics, one home for every chapter that scores a model: [`classification`] (accuracy, precision,
//! recall, F1, the confusion matrix, the precision-recall curve; against scikit-learn), [`bleu`] (corpus BLEU,
//! chapter 4's; against sacreBLEU) and [`rouge`] (ROUGE-1, -2, -L, -Lsum, chapter 8's, with the [`porter`] stemmer
//! as an option; against `rouge-score`).

pub mod bleu;
pub mod classification;
pub mod porter;
pub mod rouge;

pub use classification::{ClassScores, ConfusionMatrix, PrPoint, Report, average_precision, precision_recall_curve};
