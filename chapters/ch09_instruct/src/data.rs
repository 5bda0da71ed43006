//! Instruction data: examples of an instruction, an optional input and the answer expected (the Alpaca format),
//! read from a JSON array, checked one by one, and split for training, validation and test; the splits of each data
//! set a run can learn from.

use std::path::Path;

use common::INSTRUCTION_DATA;
use common::rng::SplitMix64;
use serde::{Deserialize, Serialize};

use crate::InstructError;
use crate::experiment::synthetic_data;
use crate::synthetic::SyntheticSet;
use crate::training::Dataset;

// ANCHOR: example
/// One example: what to do, what to do it on (empty for most instructions), and the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub instruction: String,
    #[serde(default)]
    pub input: String,
    pub output: String,
}
// ANCHOR_END: example

/// Why a file of examples cannot be used, each naming the fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InstructionDataError {
    #[error("{source_name} is not a JSON array of examples ({message}); give a file such as instruction-data.json")]
    NotAnArray { source_name: String, message: String },
    #[error(
        "{source_name}: example {index} (counting from 0) {problem}; each example is an object with a non-empty \
         \"instruction\" and \"output\" and an optional \"input\", all strings"
    )]
    Malformed {
        source_name: String,
        index: usize,
        problem: String,
    },
    #[error("{source_name} holds no examples")]
    Empty { source_name: String },
}

/// The examples of a JSON array, each checked: a malformed one is an error naming its index in the array.
pub fn parse_examples(json: &str, source_name: &str) -> Result<Vec<Example>, InstructionDataError> {
    let entries: Vec<serde_json::Value> =
        serde_json::from_str(json).map_err(|error| InstructionDataError::NotAnArray {
            source_name: source_name.to_string(),
            message: error.to_string(),
        })?;
    if entries.is_empty() {
        return Err(InstructionDataError::Empty {
            source_name: source_name.to_string(),
        });
    }
    let malformed = |index: usize, problem: String| InstructionDataError::Malformed {
        source_name: source_name.to_string(),
        index,
        problem,
    };
    entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            let example: Example =
                serde_json::from_value(entry).map_err(|error| malformed(index, error.to_string()))?;
            if example.instruction.trim().is_empty() {
                return Err(malformed(index, "has an empty instruction".into()));
            }
            if example.output.trim().is_empty() {
                return Err(malformed(index, "has an empty output".into()));
            }
            Ok(example)
        })
        .collect()
}

/// Raschka's 1,100 examples: the file `explicit` (`--data PATH`) as it is, or the data directory's checked copy,
/// downloaded on first use.
pub fn load_instruction_data(explicit: Option<&Path>) -> Result<Vec<Example>, InstructError> {
    let path = INSTRUCTION_DATA.locate(explicit)?;
    let text = std::fs::read_to_string(&path).map_err(|source| common::DataError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(parse_examples(&text, &path.display().to_string())?)
}

/// Training, validation and test examples.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSplits {
    pub train: Vec<Example>,
    pub val: Vec<Example>,
    pub test: Vec<Example>,
}

// ANCHOR: split
/// 85% of the examples for training, 10% for test and the remaining 5% for validation, as Raschka's chapter 7
/// splits them: in the file's order with `seed` `None` (his split: the file is shuffled already), or after a
/// shuffle by `seed`, so that a result can be averaged over several splits.
pub fn split(examples: &[Example], seed: Option<u64>) -> DataSplits {
    let mut examples = examples.to_vec();
    if let Some(seed) = seed {
        SplitMix64::new(seed).shuffle(&mut examples);
    }
    let n_train = examples.len() * 85 / 100;
    let n_test = examples.len() / 10;
    let val = examples.split_off(n_train + n_test);
    let test = examples.split_off(n_train);
    DataSplits {
        train: examples,
        val,
        test,
    }
}
// ANCHOR_END: split

/// What a run learns from and is tested on.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetSplits {
    pub train: Vec<Example>,
    pub val: Vec<Example>,
    pub test: TestSet,
}

/// The test side of a data set: Raschka's test split, or the synthetic set's held-out questions.
#[derive(Debug, Clone, PartialEq)]
pub enum TestSet {
    Raschka(Vec<Example>),
    Synthetic(SyntheticSet),
}

/// The splits of `dataset`: Raschka's file (`explicit`, or the cached download) in his order, or the synthetic set
/// of `seed` ([`synthetic_data`]).
pub fn dataset_splits(dataset: Dataset, explicit: Option<&Path>, seed: u64) -> Result<DatasetSplits, InstructError> {
    Ok(match dataset {
        Dataset::Raschka => {
            let splits = split(&load_instruction_data(explicit)?, None);
            DatasetSplits {
                train: splits.train,
                val: splits.val,
                test: TestSet::Raschka(splits.test),
            }
        }
        Dataset::Synthetic => {
            let data = synthetic_data(seed);
            DatasetSplits {
                train: data.train,
                val: data.val,
                test: TestSet::Synthetic(data.set),
            }
        }
    })
}
