//! Evaluation metrics, one home for every chapter that scores a model: [`classification`] (accuracy, precision,
//! recall, F1, the confusion matrix, the precision-recall curve), each tested against scikit-learn's values.

pub mod classification;

pub use classification::{ClassScores, ConfusionMatrix, PrPoint, Report, average_precision, precision_recall_curve};
