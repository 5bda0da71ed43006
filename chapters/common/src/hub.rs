//! Pretrained models from the Hugging Face hub, found or downloaded as the data sets are ([`crate::data`]).
//!
//! A [`HubModel`] names a model folder by its hub repository and the SHA-256 of each file it needs.
//! [`HubModel::locate`] returns, in order: an explicit folder (the `--model DIR` flag), used as it is; the folder in
//! the data directory's `models/` (`$LLM_DATA_DIR/models/NAME`), each file checked against its SHA-256; or that
//! folder after downloading the missing files from the hub (`LLM_OFFLINE=1` forbids it). Every failure says what
//! is wrong and how to fix it.

use std::path::{Path, PathBuf};

use sha1::{Digest, Sha1};
pub use tokenizers::Tokenizer;

use crate::data::{DataError, DataFile, OFFLINE_ENV, data_dir, download_checked, read};

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

// ANCHOR: download_listed
/// Downloads the files `names` of the hub repository `repo` (`owner/name`) at `revision` into `folder`, for a model
/// whose hashes this book does not pin: each is checked against the hub's own listing of the repository
/// (`/api/models/REPO/tree/REVISION`), which gives the SHA-256 of a large file (stored with Git LFS) and the git
/// object id of a small one. A file already in `folder` is kept: downloads are renamed into place only once checked.
/// `endpoint` is the hub's address (`https://huggingface.co`, or `$HF_ENDPOINT` for a mirror).
pub fn download_listed(
    endpoint: &str,
    repo: &str,
    revision: &str,
    names: &[&str],
    folder: &Path,
) -> Result<(), DataError> {
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| !folder.join(name).is_file())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let listing_url = format!("{endpoint}/api/models/{repo}/tree/{revision}");
    let download_error = |url: &str, file_name: &str, reason: String| DataError::Download {
        url: url.into(),
        reason,
        dir: folder.into(),
        file_name: file_name.into(),
        member: None,
    };
    if std::env::var(OFFLINE_ENV).is_ok_and(|v| v != "0") {
        return Err(DataError::Offline {
            file_name: missing[0].into(),
            dir: folder.into(),
            url: format!("{endpoint}/{repo}/resolve/{revision}/{}", missing[0]),
            member: None,
        });
    }
    let listing: Vec<ListedFile> = ureq::get(&listing_url)
        .call()
        .and_then(|mut response| response.body_mut().read_to_string())
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
        .map_err(|reason| {
            let first = format!("{endpoint}/{repo}/resolve/{revision}/{}", missing[0]);
            download_error(
                &first,
                missing[0],
                format!("reading the hub's file listing {listing_url}: {reason}"),
            )
        })?;
    for name in missing {
        let url = format!("{endpoint}/{repo}/resolve/{revision}/{name}");
        let listed = listing
            .iter()
            .find(|file| file.path == name)
            .ok_or_else(|| download_error(&url, name, format!("{repo} has no {name} at {revision}")))?;
        eprintln!("downloading {url} into {}", folder.display());
        let failed = |reason: String| download_error(&url, name, reason);
        download_checked(&url, &folder.join(name), failed, |partial, sha256| {
            let (expected, actual) = match &listed.lfs {
                Some(lfs) => (lfs.oid.clone(), sha256),
                None => (listed.oid.clone(), git_blob_id(&read(partial)?)),
            };
            if actual != expected {
                return Err(DataError::DownloadCorrupt {
                    url: url.clone(),
                    expected,
                    actual,
                });
            }
            Ok(())
        })?;
    }
    Ok(())
}
// ANCHOR_END: download_listed

/// One file of the hub's listing of a repository.
#[derive(Debug, serde::Deserialize)]
struct ListedFile {
    path: String,
    /// The git object id of the file as the repository stores it (for an LFS file, of its pointer).
    oid: String,
    /// For a file stored with Git LFS, the SHA-256 of its contents.
    lfs: Option<LfsObject>,
}

#[derive(Debug, serde::Deserialize)]
struct LfsObject {
    oid: String,
}

/// The id git gives a file's contents: the SHA-1 of `blob LENGTH\0` followed by the bytes.
pub fn git_blob_id(bytes: &[u8]) -> String {
    let mut hasher = Sha1::new();
    hasher.update(format!("blob {}\0", bytes.len()).as_bytes());
    hasher.update(bytes);
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
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

/// Checks that `folder` holds a `config.json` whose `model_type` (Hugging Face writes it in every model's) is one of
/// `model_types`; a file without the field passes. Read before the weights, so that another kind of model's folder
/// is named as such instead of as a weight it lacks.
pub fn check_model_type(folder: &Path, model_types: &[&'static str]) -> Result<(), DataError> {
    let path = folder.join("config.json");
    if !path.is_file() {
        return Err(DataError::ModelFileMissing {
            folder: folder.to_path_buf(),
            file_name: "config.json".into(),
        });
    }
    let found = serde_json::from_slice::<serde_json::Value>(&read(&path)?)
        .ok()
        .and_then(|config| config.get("model_type")?.as_str().map(str::to_string));
    match found {
        Some(found) if !model_types.contains(&found.as_str()) => Err(DataError::OtherModelType {
            folder: folder.to_path_buf(),
            found,
            expected: model_types[0],
        }),
        _ => Ok(()),
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
    fn git_blob_ids_are_gits() {
        // `printf 'hello\n' | git hash-object --stdin`, and git's id of the empty file.
        assert_eq!(git_blob_id(b"hello\n"), "ce013625030ba8dba906f756967f9e9ca394464a");
        assert_eq!(git_blob_id(b""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    }

    #[test]
    fn listed_files_are_downloaded_checked_against_the_listing_or_refused() {
        let (config, weights) = (b"{\"n_embd\": 8}".to_vec(), vec![7u8; 1000]);
        let listing = serde_json::json!([
            {"type": "file", "path": "config.json", "oid": git_blob_id(&config), "size": config.len()},
            {"type": "file", "path": "model.safetensors", "oid": "0123", "size": 1000,
             "lfs": {"oid": sha256_hex(&weights), "size": 1000, "pointerSize": 134}},
            {"type": "file", "path": "vocab.json", "oid": git_blob_id(b"the listed vocabulary"), "size": 21},
        ]);
        let routes = vec![
            (
                "/api/models/someone/tiny/tree/main".to_string(),
                listing.to_string().into_bytes(),
            ),
            ("/someone/tiny/resolve/main/config.json".to_string(), config.clone()),
            (
                "/someone/tiny/resolve/main/model.safetensors".to_string(),
                weights.clone(),
            ),
            (
                "/someone/tiny/resolve/main/vocab.json".to_string(),
                b"another vocabulary".to_vec(),
            ),
        ];
        let endpoint = crate::testing::serve_on_loopback(routes, 8);
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("tiny");
        download_listed(
            &endpoint,
            "someone/tiny",
            "main",
            &["config.json", "model.safetensors"],
            &folder,
        )
        .unwrap();
        assert_eq!(fs::read(folder.join("config.json")).unwrap(), config);
        assert_eq!(fs::read(folder.join("model.safetensors")).unwrap(), weights);

        let err = download_listed(&endpoint, "someone/tiny", "main", &["vocab.json"], &folder).unwrap_err();
        assert!(matches!(err, DataError::DownloadCorrupt { .. }), "{err}");
        let err = download_listed(&endpoint, "someone/tiny", "main", &["merges.txt"], &folder).unwrap_err();
        assert!(
            err.to_string().contains("someone/tiny has no merges.txt at main"),
            "{err}"
        );
        let files: Vec<_> = fs::read_dir(&folder).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(files.len(), 2, "only the checked files are there: {files:?}");
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
