//! Pretrained models from the Hugging Face hub, found or downloaded as the data sets are ([`crate::data`]).
//!
//! A [`HubModel`] names a model folder by its hub repository and the SHA-256 of each file it needs.
//! [`HubModel::locate`] returns, in order: an explicit folder (the `--model DIR` flag), used as it is; the folder in
//! the data directory's `models/` (`$LLM_DATA_DIR/models/NAME`), each file checked against its SHA-256; or that
//! folder after downloading the missing files from the hub (`LLM_OFFLINE=1` forbids it). Every failure says what
//! is wrong and how to fix it.

use std::path::{Path, PathBuf};

pub use tokenizers::Tokenizer;

use crate::data::{DataError, DataFile, data_dir};

/// A model folder on the Hugging Face hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubModel {
    /// `owner/name` on the hub.
    pub repo: &'static str,
    /// Its files: `file_name` is `models/NAME/FILE` under the data directory, `url` the hub's download address.
    pub files: &'static [DataFile],
}

/// The files every Hugging Face BERT-family folder this book loads holds.
pub const MODEL_FILES: [&str; 3] = ["config.json", "model.safetensors", "tokenizer.json"];

/// sentence-transformers' all-MiniLM-L6-v2 (Apache-2.0): a 6-layer, 384-wide BERT fine-tuned for sentence
/// embeddings by mean pooling; 22.7M parameters.
pub const ALL_MINILM_L6_V2: HubModel = HubModel {
    repo: "sentence-transformers/all-MiniLM-L6-v2",
    files: &[
        DataFile {
            file_name: "models/all-MiniLM-L6-v2/config.json",
            url: "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/main/config.json",
            sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
            archive_member: None,
        },
        DataFile {
            file_name: "models/all-MiniLM-L6-v2/model.safetensors",
            url: "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/main/model.safetensors",
            sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
            archive_member: None,
        },
        DataFile {
            file_name: "models/all-MiniLM-L6-v2/tokenizer.json",
            url: "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/main/tokenizer.json",
            sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
            archive_member: None,
        },
    ],
};

impl HubModel {
    /// The model's folder: `explicit` if given (it must hold [`MODEL_FILES`]), otherwise the cached download.
    pub fn locate(&self, explicit: Option<&Path>) -> Result<PathBuf, DataError> {
        self.locate_in(explicit, &data_dir())
    }

    /// [`HubModel::locate`] with the data directory given, for tests and tools.
    pub fn locate_in(&self, explicit: Option<&Path>, dir: &Path) -> Result<PathBuf, DataError> {
        if let Some(folder) = explicit {
            check_model_folder(folder)?;
            return Ok(folder.to_path_buf());
        }
        let mut folder = None;
        for file in self.files {
            let path = file.locate_in(None, dir)?;
            folder = path.parent().map(Path::to_path_buf);
        }
        Ok(folder.expect("a hub model lists its files"))
    }
}

/// A model folder must hold every file of [`MODEL_FILES`]; the first one missing is named.
pub fn check_model_folder(folder: &Path) -> Result<(), DataError> {
    if !folder.is_dir() {
        return Err(DataError::ModelFolderMissing {
            path: folder.to_path_buf(),
        });
    }
    match MODEL_FILES.iter().find(|name| !folder.join(name).is_file()) {
        Some(name) => Err(DataError::ModelFileMissing {
            folder: folder.to_path_buf(),
            file_name: name.to_string(),
        }),
        None => Ok(()),
    }
}

/// A `tokenizer.json` the `tokenizers` crate cannot read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: not a tokenizers file ({message}); download the model folder again")]
pub struct TokenizerFileError {
    pub path: PathBuf,
    pub message: String,
}

// ANCHOR: tokenizer
/// The tokenizer of a Hugging Face folder, `tokenizer.json`, read by Hugging Face's own `tokenizers` crate (for
/// BERT: lower-casing, WordPiece and the `[CLS] ... [SEP]` template). A file may ask for every input to be padded
/// or cut to a fixed length (all-MiniLM-L6-v2's pads and truncates to 128): both are turned off, as Python's
/// tokenizer does unless asked, so that a caller pads a batch to its longest input and refuses an input that is
/// too long instead of having it cut silently.
pub fn load_tokenizer(folder: &Path) -> Result<Tokenizer, TokenizerFileError> {
    let path = folder.join("tokenizer.json");
    let error = |message: String| TokenizerFileError {
        path: path.clone(),
        message,
    };
    let mut tokenizer = Tokenizer::from_file(&path).map_err(|e| error(e.to_string()))?;
    tokenizer.with_padding(None);
    tokenizer.with_truncation(None).map_err(|e| error(e.to_string()))?;
    Ok(tokenizer)
}
// ANCHOR_END: tokenizer

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::data::sha256_hex;

    #[test]
    fn an_explicit_folder_must_hold_the_three_files() {
        let dir = tempfile::tempdir().unwrap();
        let err = ALL_MINILM_L6_V2
            .locate_in(Some(&dir.path().join("nope")), dir.path())
            .unwrap_err();
        assert!(err.to_string().contains("no such folder"), "{err}");
        fs::write(dir.path().join("config.json"), "{}").unwrap();
        let err = ALL_MINILM_L6_V2.locate_in(Some(dir.path()), dir.path()).unwrap_err();
        assert!(err.to_string().contains("has no model.safetensors"), "{err}");
        fs::write(dir.path().join("model.safetensors"), "").unwrap();
        fs::write(dir.path().join("tokenizer.json"), "").unwrap();
        assert_eq!(
            ALL_MINILM_L6_V2.locate_in(Some(dir.path()), dir.path()).unwrap(),
            dir.path()
        );
    }

    #[test]
    fn a_cached_folder_is_checked_file_by_file() {
        let dir = tempfile::tempdir().unwrap();
        let text = |name: &str| format!("the file {name}");
        let files: Vec<DataFile> = MODEL_FILES
            .iter()
            .map(|name| DataFile {
                file_name: Box::leak(format!("models/tiny/{name}").into_boxed_str()),
                url: "http://127.0.0.1:9/refused",
                sha256: Box::leak(sha256_hex(text(name).as_bytes()).into_boxed_str()),
                archive_member: None,
            })
            .collect();
        let model = HubModel {
            repo: "someone/tiny",
            files: Box::leak(files.into_boxed_slice()),
        };
        let folder = dir.path().join("models/tiny");
        fs::create_dir_all(&folder).unwrap();
        for name in MODEL_FILES {
            fs::write(folder.join(name), text(name)).unwrap();
        }
        assert_eq!(model.locate_in(None, dir.path()).unwrap(), folder);
        fs::write(folder.join("tokenizer.json"), "changed").unwrap();
        let err = model.locate_in(None, dir.path()).unwrap_err();
        assert!(err.to_string().contains("tokenizer.json is corrupt"), "{err}");
    }
}
