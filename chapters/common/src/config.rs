//! Checking a configuration once, where it is read (a preset, a JSON file, a checkpoint), so that a value no model
//! can be built with is an error naming the field and its allowed range instead of a panic deep inside a kernel.

use std::fmt::Display;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// A configuration file that cannot be read as the configuration it should hold: missing, or not its JSON.
#[derive(Debug, thiserror::Error)]
#[error("{}: not a {what} ({message})", path.display())]
pub struct ConfigFileError {
    pub path: PathBuf,
    /// What it should hold ("BERT configuration").
    pub what: &'static str,
    pub message: String,
}

/// The JSON file `path` read as a `T`, which the error calls `what`.
pub fn read_json<T: DeserializeOwned>(path: &Path, what: &'static str) -> Result<T, ConfigFileError> {
    let failed = |message: String| ConfigFileError {
        path: path.to_path_buf(),
        what,
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| failed(e.to_string()))
}

/// The settings of one configuration that it cannot be used with, each with the range it must lie in.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid {what}: {}", problems.join("; "))]
pub struct InvalidConfig {
    /// What was checked ("model configuration").
    pub what: String,
    /// One line per invalid field: `n_head = 0 (must be at least 1)`.
    pub problems: Vec<String>,
}

/// The checks of one configuration, collected so that every invalid field is named at once.
#[derive(Debug)]
pub struct Checks {
    what: String,
    problems: Vec<String>,
}

impl Checks {
    pub fn new(what: impl Into<String>) -> Self {
        Checks {
            what: what.into(),
            problems: Vec::new(),
        }
    }

    /// `field = value` must satisfy `rule` (said as "must be {rule}") for `ok`.
    pub fn require(mut self, ok: bool, field: &str, value: impl Display, rule: &str) -> Self {
        if !ok {
            self.problems.push(format!("{field} = {value} (must be {rule})"));
        }
        self
    }

    /// A count that must be at least `min`.
    pub fn at_least(self, field: &str, value: usize, min: usize) -> Self {
        self.require(value >= min, field, value, &format!("at least {min}"))
    }

    /// A real number that must lie in `[low, high)`.
    pub fn in_range(self, field: &str, value: f64, low: f64, high: f64) -> Self {
        self.require(
            value >= low && value < high,
            field,
            value,
            &format!("at least {low} and below {high}"),
        )
    }

    /// A real number that must be finite and positive.
    pub fn positive(self, field: &str, value: f64) -> Self {
        self.require(value.is_finite() && value > 0.0, field, value, "finite and above 0")
    }

    /// A real number that must be finite and at least 0 (a weight decay).
    pub fn non_negative(self, field: &str, value: f64) -> Self {
        self.require(value.is_finite() && value >= 0.0, field, value, "finite and at least 0")
    }

    /// A floor (a schedule's lowest learning rate) that must lie in `[0, peak]`, `peak` being the field `peak_field`.
    pub fn floor(self, field: &str, value: f64, peak_field: &str, peak: f64) -> Self {
        let rule = format!("at least 0 and at most {peak_field}");
        self.require(value.is_finite() && value >= 0.0 && value <= peak, field, value, &rule)
    }

    pub fn finish(self) -> Result<(), InvalidConfig> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(InvalidConfig {
                what: self.what,
                problems: self.problems,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_invalid_field_is_named_with_its_range() {
        let error = Checks::new("model configuration")
            .at_least("n_head", 0, 1)
            .at_least("n_layer", 2, 1)
            .in_range("dropout", 1.0, 0.0, 1.0)
            .positive("learning_rate", f64::NAN)
            .floor("min_lr", 2.0, "learning_rate", 1.0)
            .non_negative("weight_decay", -0.5)
            .finish()
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid model configuration: n_head = 0 (must be at least 1); dropout = 1 (must be at least 0 and \
             below 1); learning_rate = NaN (must be finite and above 0); min_lr = 2 (must be at least 0 and at \
             most learning_rate); weight_decay = -0.5 (must be finite and at least 0)"
        );
        assert!(
            Checks::new("x")
                .at_least("n", 1, 1)
                .positive("lr", 1e-3)
                .finish()
                .is_ok()
        );
    }
}
