//! The SMS Spam Collection: 5,574 text messages, 4,827 ham and 747 spam, read from its `label TAB text` file, its
//! 403 exact repeats removed (5,171 left: 4,518 ham, 653 spam), and split into training, validation and test sets
//! with the same share of spam in each (stratified).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use common::SMS_SPAM;
use common::rng::SplitMix64;
use serde::{Deserialize, Serialize};

use crate::ClassifyError;

/// The two classes, in the order of the classifier's outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    Ham = 0,
    Spam = 1,
}

impl Label {
    pub const ALL: [Label; 2] = [Label::Ham, Label::Spam];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn from_index(index: usize) -> Label {
        Label::ALL[index]
    }

    pub fn name(self) -> &'static str {
        match self {
            Label::Ham => "ham",
            Label::Spam => "spam",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub label: Label,
    pub text: String,
}

// ANCHOR: parse
/// Every message of the collection's text, `path` naming it in errors: a line that is not `ham` or `spam`, a tab,
/// then a non-empty message is an error naming the line, never a silent skip.
pub fn parse_collection(text: &str, path: &Path) -> Result<Vec<Message>, ClassifyError> {
    let bad = |line: usize, problem: &str| ClassifyError::BadRow {
        path: path.to_path_buf(),
        line,
        problem: problem.to_string(),
    };
    let mut messages = Vec::new();
    for (i, row) in text.lines().enumerate() {
        let (label, message) = row.split_once('\t').ok_or_else(|| bad(i + 1, "no tab"))?;
        let label = match label {
            "ham" => Label::Ham,
            "spam" => Label::Spam,
            other => return Err(bad(i + 1, &format!("the label is {other:?}"))),
        };
        if message.trim().is_empty() {
            return Err(bad(i + 1, "the message is empty"));
        }
        messages.push(Message {
            label,
            text: message.to_string(),
        });
    }
    for label in Label::ALL {
        if !messages.iter().any(|m| m.label == label) {
            return Err(ClassifyError::MissingClass {
                path: path.to_path_buf(),
                label: label.name(),
            });
        }
    }
    Ok(messages)
}
// ANCHOR_END: parse

// ANCHOR: duplicates
/// `messages` without the exact repeats of an earlier message's text (the first is kept), and how many went.
///
/// Why before the split: split with its repeats, the collection puts an exact copy of about one test message in ten
/// (one test spam in six) into the training split, and a classifier is then partly scored on messages it was
/// trained on.
pub fn remove_duplicates(messages: Vec<Message>) -> (Vec<Message>, usize) {
    let before = messages.len();
    let mut seen = HashSet::new();
    let unique: Vec<Message> = messages.into_iter().filter(|m| seen.insert(m.text.clone())).collect();
    let removed = before - unique.len();
    (unique, removed)
}
// ANCHOR_END: duplicates

/// The collection as the chapter uses it: its distinct messages, and how many repeats were removed.
#[derive(Debug, Clone)]
pub struct Collection {
    pub messages: Vec<Message>,
    pub duplicates_removed: usize,
}

/// The collection, from `explicit` (`--data`), the data directory, or UCI (see [`common::data`]), without its
/// repeats.
pub fn load_sms_spam(explicit: Option<&Path>) -> Result<Collection, ClassifyError> {
    let path: PathBuf = SMS_SPAM.locate(explicit)?;
    let text = std::fs::read_to_string(&path).map_err(|source| common::DataError::Io {
        path: path.clone(),
        source,
    })?;
    let (messages, duplicates_removed) = remove_duplicates(parse_collection(&text, &path)?);
    Ok(Collection {
        messages,
        duplicates_removed,
    })
}

/// Which messages a split is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// All of them: 13.4% spam, as a spam filter meets them.
    Imbalanced,
    /// Raschka's *LLMs from scratch*, chapter 6: ham undersampled at random to as many as there are spam (747
    /// each), so that accuracy means something and his figures can be set beside ours.
    Balanced,
}

/// Training, validation and test messages.
#[derive(Debug, Clone)]
pub struct Splits {
    pub train: Vec<Message>,
    pub val: Vec<Message>,
    pub test: Vec<Message>,
}

// ANCHOR: split
/// A stratified, seeded 70/10/20 split: each class is shuffled on its own (with `seed`) and cut
/// 70/10/20, so every split has the collection's share of spam. Under [`Protocol::Balanced`], the larger class
/// (ham) is first cut down to as many messages as the smaller.
pub fn split(messages: &[Message], protocol: Protocol, seed: u64) -> Splits {
    let mut rng = SplitMix64::new(seed);
    let mut splits = Splits {
        train: Vec::new(),
        val: Vec::new(),
        test: Vec::new(),
    };
    let count = |label| messages.iter().filter(|m| m.label == label).count();
    let minority = count(Label::Ham).min(count(Label::Spam));
    for label in Label::ALL {
        let mut class: Vec<&Message> = messages.iter().filter(|m| m.label == label).collect();
        rng.shuffle(&mut class);
        if protocol == Protocol::Balanced {
            class.truncate(minority);
        }
        let n = class.len();
        let (train_end, val_end) = ((n * 7).div_ceil(10), (n * 8).div_ceil(10));
        splits.train.extend(class[..train_end].iter().map(|&m| m.clone()));
        splits.val.extend(class[train_end..val_end].iter().map(|&m| m.clone()));
        splits.test.extend(class[val_end..].iter().map(|&m| m.clone()));
    }
    // Ham then spam would make every batch of one class: mix them.
    for part in [&mut splits.train, &mut splits.val, &mut splits.test] {
        rng.shuffle(part);
    }
    splits
}
// ANCHOR_END: split
