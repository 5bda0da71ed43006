//! Finding a data set on disk, downloading it on first use.
//!
//! A [`DataFile`] names a file by its canonical URL and its SHA-256. [`DataFile::locate`] looks for it, in order:
//! 1. an explicit path (the `--data PATH` flag): the user's own file, used as it is, so a learner can train on any
//!    text;
//! 2. the data directory (`$LLM_DATA_DIR`, or `data/` at the root of this repository): the canonical file,
//!    checked against its SHA-256;
//! 3. the canonical URL: downloaded into the data directory (to a temporary file, checked, then renamed, so an
//!    interrupted download never leaves a half file behind), taken out of its zip archive first when it is
//!    published as one. `LLM_OFFLINE=1` forbids this step.
//!
//! Every failure says what is wrong and how to fix it.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

/// A data set file, named by where it comes from and what its bytes hash to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataFile {
    /// The name it is cached under in the data directory.
    pub file_name: &'static str,
    /// Where a first run downloads it from.
    pub url: &'static str,
    /// Hex SHA-256 of the file's bytes (of the file itself, not of the archive it comes in).
    pub sha256: &'static str,
    /// The file's name inside the zip archive at `url`, when it is published in one.
    pub archive_member: Option<&'static str>,
}

/// Karpathy's Tiny Shakespeare (about 1.1 MB of plays), the corpus of char-rnn and nanoGPT.
pub const TINY_SHAKESPEARE: DataFile = DataFile {
    file_name: "tinyshakespeare.txt",
    url: "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
    sha256: "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    archive_member: None,
};

/// The SMS Spam Collection (Almeida and Gómez Hidalgo, 2011): 5,574 text messages, one per line as
/// `ham|spam TAB text`, published by the UCI Machine Learning Repository as `SMSSpamCollection` in a zip archive.
pub const SMS_SPAM: DataFile = DataFile {
    file_name: "sms_spam.tsv",
    url: "https://archive.ics.uci.edu/static/public/228/sms+spam+collection.zip",
    sha256: "7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d",
    archive_member: Some("SMSSpamCollection"),
};

/// Raschka's instruction data (*Build a Large Language Model (From Scratch)*, chapter 7, Apache-2.0): 1,100
/// examples in the Alpaca format, a JSON array of `instruction` / `input` / `output` objects, pinned to the commit
/// that last changed the file.
pub const INSTRUCTION_DATA: DataFile = DataFile {
    file_name: "instruction-data.json",
    url: "https://raw.githubusercontent.com/rasbt/LLMs-from-scratch/4ac480c9ae56ead3ba3bf71060ecbcd783bb8dc6/ch07/01_main-chapter-code/instruction-data.json",
    sha256: "7e09a9af353722ca15c18bc580f093f9c39d3178335a75177319cb1e1d163944",
    archive_member: None,
};

/// Environment variable naming the data directory.
pub const DATA_DIR_ENV: &str = "LLM_DATA_DIR";
/// Environment variable that, set to anything but `0`, forbids downloads.
pub const OFFLINE_ENV: &str = "LLM_OFFLINE";

/// Everything that can go wrong while locating a data file, each with the fix in its message.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("--data {path}: no such file; check the path, or leave --data out to use the cached download")]
    ExplicitPathMissing { path: PathBuf },
    #[error("--data {path} is a directory: give the file itself, or leave --data out to use the cached download")]
    ExplicitPathIsDirectory { path: PathBuf },
    #[error(
        "{path} is corrupt: its sha256 is {actual}, expected {expected}. Delete it and run again to download it \
         afresh, or replace it with a copy of {url}"
    )]
    Corrupt {
        path: PathBuf,
        url: String,
        expected: String,
        actual: String,
    },
    #[error(
        "{file_name} is not in {} and downloads are off ({OFFLINE_ENV} is set). Download {url} and {}, point \
         {DATA_DIR_ENV} at a directory holding it, or pass --data PATH (--model DIR for a model's folder)",
        dir.display(),
        save_advice(dir, file_name, *member)
    )]
    Offline {
        file_name: String,
        dir: PathBuf,
        url: String,
        /// The archive's member that is the file, when the URL is an archive.
        member: Option<&'static str>,
    },
    #[error(
        "could not download {url}: {reason}. If this machine is offline, get it elsewhere and {}, point \
         {DATA_DIR_ENV} at a directory holding it, or pass --data PATH (--model DIR for a model's folder)",
        save_advice(dir, file_name, *member)
    )]
    Download {
        url: String,
        reason: String,
        dir: PathBuf,
        file_name: String,
        /// The archive's member that is the file, when the URL is an archive.
        member: Option<&'static str>,
    },
    #[error("downloaded {url} but its sha256 is {actual}, expected {expected}; nothing was saved. Try again later")]
    DownloadCorrupt {
        url: String,
        expected: String,
        actual: String,
    },
    #[error(
        "--model {path}: no such folder; pass a Hugging Face model folder, or leave --model out to use the cached download"
    )]
    ModelFolderMissing { path: PathBuf },
    #[error(
        "{folder} has no {file_name}: a Hugging Face model folder holds config.json and model.safetensors \
         (save_pretrained writes them) beside its tokenizer's files (tokenizer.json, or vocab.json and merges.txt)"
    )]
    ModelFileMissing { folder: PathBuf, file_name: String },
    #[error(
        "{folder} holds a {found:?} model (config.json's model_type), and this command reads {expected}: give it a \
         folder of that kind"
    )]
    OtherModelType {
        folder: PathBuf,
        found: String,
        expected: &'static str,
    },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// What to do with a download to put it where the loader looks: save it as `dir/file_name`, or, when it is an
/// archive, take out its `member` and save that.
fn save_advice(dir: &Path, file_name: &str, member: Option<&str>) -> String {
    let target = dir.join(file_name);
    match member {
        None => format!("save it as {}", target.display()),
        Some(member) => format!("take {member} out of that archive and save it as {}", target.display()),
    }
}

impl DataFile {
    /// The path of this file, downloading it into the data directory first if it is not there yet.
    pub fn locate(&self, explicit: Option<&Path>) -> Result<PathBuf, DataError> {
        self.locate_in(explicit, &data_dir())
    }

    /// [`DataFile::locate`] with the data directory given, for tests and tools.
    pub fn locate_in(&self, explicit: Option<&Path>, dir: &Path) -> Result<PathBuf, DataError> {
        if let Some(path) = explicit {
            let path_buf = path.to_path_buf();
            return match (path.is_file(), path.is_dir()) {
                (true, _) => Ok(path_buf),
                (false, true) => Err(DataError::ExplicitPathIsDirectory { path: path_buf }),
                (false, false) => Err(DataError::ExplicitPathMissing { path: path_buf }),
            };
        }
        let path = dir.join(self.file_name);
        if path.is_file() {
            let actual = sha256_hex(&read(&path)?);
            if actual != self.sha256 {
                return Err(DataError::Corrupt {
                    path,
                    url: self.url.into(),
                    expected: self.sha256.into(),
                    actual,
                });
            }
            return Ok(path);
        }
        if std::env::var(OFFLINE_ENV).is_ok_and(|v| v != "0") {
            return Err(DataError::Offline {
                file_name: self.file_name.into(),
                dir: dir.into(),
                url: self.url.into(),
                member: self.archive_member,
            });
        }
        self.download_into(dir)?;
        Ok(path)
    }

    /// The file's text, located as by [`DataFile::locate`].
    pub fn read_to_string(&self, explicit: Option<&Path>) -> Result<String, DataError> {
        let path = self.locate(explicit)?;
        fs::read_to_string(&path).map_err(|source| DataError::Io { path, source })
    }

    fn download_into(&self, dir: &Path) -> Result<(), DataError> {
        let download_error = |reason: String| DataError::Download {
            url: self.url.into(),
            reason,
            dir: dir.into(),
            file_name: self.file_name.into(),
            member: self.archive_member,
        };
        eprintln!("downloading {} into {}", self.url, dir.display());
        download_checked(
            self.url,
            &dir.join(self.file_name),
            download_error,
            |partial, streamed_sha256| {
                let actual = match self.archive_member {
                    Some(member) => {
                        let bytes = unzip_member(&read(partial)?, member).map_err(download_error)?;
                        write_atomically(partial, &bytes)?;
                        sha256_hex(&bytes)
                    }
                    None => streamed_sha256,
                };
                if actual != self.sha256 {
                    return Err(DataError::DownloadCorrupt {
                        url: self.url.into(),
                        expected: self.sha256.into(),
                        actual,
                    });
                }
                Ok(())
            },
        )
    }
}

/// Downloads `url` to `path` through a temporary file beside it. `check` gets that file and the SHA-256 of its
/// bytes, and may rewrite it or refuse it; only a file it accepts is renamed to `path`, so that an interrupted,
/// corrupt or tampered download never leaves a file behind. `download_error` words a failed transfer.
pub(crate) fn download_checked(
    url: &str,
    path: &Path,
    download_error: impl Fn(String) -> DataError,
    check: impl FnOnce(&Path, String) -> Result<(), DataError>,
) -> Result<(), DataError> {
    let partial = path.with_extension(format!("part{}", std::process::id()));
    let result = download_to(url, &partial)
        .map_err(download_error)
        .and_then(|sha256| check(&partial, sha256))
        .and_then(|()| {
            fs::rename(&partial, path).map_err(|source| DataError::Io {
                path: path.to_path_buf(),
                source,
            })
        });
    if result.is_err() {
        let _ = fs::remove_file(&partial);
    }
    result
}

/// Streams `url` into the file `path` (created with its folder), with a progress bar on standard error, and
/// returns the SHA-256 of the bytes written: a model of gigabytes never has to fit in memory.
fn download_to(url: &str, path: &Path) -> Result<String, String> {
    let mut response = ureq::get(url).call().map_err(|e| e.to_string())?;
    let length = response.body().content_length();
    let progress = match length {
        Some(bytes) => ProgressBar::new(bytes).with_style(
            ProgressStyle::with_template("{bytes}/{total_bytes} [{wide_bar}] {bytes_per_sec}, {eta} left")
                .expect("a valid template"),
        ),
        None => ProgressBar::new_spinner(),
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut file = fs::File::create(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let (mut reader, mut hasher, mut buffer) = (response.body_mut().as_reader(), Sha256::new(), vec![0u8; 1 << 16]);
    loop {
        let n = reader.read(&mut buffer).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        file.write_all(&buffer[..n])
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        progress.inc(n as u64);
    }
    file.sync_all()
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    progress.finish_and_clear();
    if let Some(expected) = length.filter(|&bytes| bytes != progress.position()) {
        return Err(format!(
            "the connection closed after {} of {expected} bytes",
            progress.position()
        ));
    }
    Ok(hex(&hasher.finalize()))
}

/// The bytes of the file `member` of the zip archive `archive`.
fn unzip_member(archive: &[u8], member: &str) -> Result<Vec<u8>, String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).map_err(|e| format!("not a zip archive: {e}"))?;
    let mut file = zip
        .by_name(member)
        .map_err(|e| format!("the archive has no {member}: {e}"))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| format!("cannot unpack {member}: {e}"))?;
    Ok(bytes)
}

/// The data directory: `$LLM_DATA_DIR`, or `data/` at the root of this repository.
pub fn data_dir() -> PathBuf {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data"),
    }
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`: readers see the old file or the
/// whole new one, never a partial write.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    let io_error = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_error)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let result = fs::File::create(&tmp)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io_error)
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, DataError> {
    fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "First Citizen:\nBefore we proceed any further, hear me speak.\n";

    /// A data file whose hash is that of [`TEXT`] and whose URL refuses connections at once (nothing listens on
    /// port 9 of the loopback address).
    fn small_file() -> DataFile {
        DataFile {
            file_name: "small.txt",
            url: "http://127.0.0.1:9/small.txt",
            sha256: Box::leak(sha256_hex(TEXT.as_bytes()).into_boxed_str()),
            archive_member: None,
        }
    }

    #[test]
    fn sha256_matches_a_published_test_vector() {
        // FIPS 180-2, appendix B.1.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_cached_file_with_the_right_hash_is_used() {
        let dir = tempfile::tempdir().unwrap();
        let file = small_file();
        fs::write(dir.path().join(file.file_name), TEXT).unwrap();
        assert_eq!(file.locate_in(None, dir.path()).unwrap(), dir.path().join("small.txt"));
    }

    #[test]
    fn a_cached_file_with_the_wrong_hash_is_reported_corrupt_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("small.txt"), "truncated").unwrap();
        let err = small_file().locate_in(None, dir.path()).unwrap_err();
        assert!(matches!(err, DataError::Corrupt { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("is corrupt"), "{message}");
        assert!(message.contains("Delete it and run again"), "{message}");
        assert!(message.contains(&sha256_hex(b"truncated")), "{message}");
    }

    #[test]
    fn a_failed_download_says_where_to_put_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = small_file().locate_in(None, dir.path()).unwrap_err();
        assert!(matches!(err, DataError::Download { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains(&format!("save it as {}", dir.path().join("small.txt").display())),
            "{message}"
        );
        assert!(message.contains("--data PATH"), "{message}");
        assert!(!dir.path().join("small.txt").exists(), "no partial file is left behind");
        // An archive's download is not the file: the advice says which member to take out of it.
        let archive = DataFile {
            url: "http://127.0.0.1:9/small.zip",
            archive_member: Some("SMALL"),
            ..small_file()
        };
        let message = archive.locate_in(None, dir.path()).unwrap_err().to_string();
        let advice = format!(
            "take SMALL out of that archive and save it as {}",
            dir.path().join("small.txt").display()
        );
        assert!(message.contains(&advice), "{message}");
        // A directory where the file is expected is named as one, not as missing.
        let message = small_file()
            .locate_in(Some(dir.path()), dir.path())
            .unwrap_err()
            .to_string();
        assert!(message.contains("is a directory: give the file itself"), "{message}");
    }

    /// A URL serving `body` as `/small.txt` for one request, on the loopback address.
    fn serve_once(body: &str) -> &'static str {
        let base = crate::testing::serve_on_loopback(vec![("/small.txt".into(), body.as_bytes().to_vec())], 1);
        Box::leak(format!("{base}/small.txt").into_boxed_str())
    }

    #[test]
    fn a_download_is_checked_then_saved_and_a_corrupt_one_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let file = DataFile {
            url: serve_once(TEXT),
            ..small_file()
        };
        assert_eq!(file.locate_in(None, dir.path()).unwrap(), dir.path().join("small.txt"));
        assert_eq!(fs::read_to_string(dir.path().join("small.txt")).unwrap(), TEXT);

        let other = tempfile::tempdir().unwrap();
        let tampered = DataFile {
            url: serve_once("First Citizen:\nBefore we proceed no further.\n"),
            ..small_file()
        };
        let err = tampered.locate_in(None, other.path()).unwrap_err();
        assert!(matches!(err, DataError::DownloadCorrupt { .. }), "{err:?}");
        assert_eq!(fs::read_dir(other.path()).unwrap().count(), 0, "nothing is left behind");
    }

    #[test]
    fn an_explicit_path_is_used_as_is_or_reported_missing() {
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("my_corpus.txt");
        fs::write(&own, "any text at all").unwrap();
        assert_eq!(small_file().locate_in(Some(&own), dir.path()).unwrap(), own);

        let missing = dir.path().join("nope.txt");
        let err = small_file().locate_in(Some(&missing), dir.path()).unwrap_err();
        assert!(err.to_string().contains("no such file"), "{err}");
    }

    #[test]
    fn a_member_comes_out_of_its_zip_archive_and_a_missing_one_is_named() {
        let mut archive = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, text) in [("readme.txt", "about"), ("SMSSpamCollection", TEXT)] {
            archive.start_file(name, zip::write::FileOptions::default()).unwrap();
            archive.write_all(text.as_bytes()).unwrap();
        }
        let bytes = archive.finish().unwrap().into_inner();
        assert_eq!(unzip_member(&bytes, "SMSSpamCollection").unwrap(), TEXT.as_bytes());
        let missing = unzip_member(&bytes, "nope").unwrap_err();
        assert!(missing.contains("has no nope"), "{missing}");
        assert!(unzip_member(b"plain text", "x").unwrap_err().contains("not a zip"));
    }

    #[test]
    fn an_atomic_write_replaces_the_whole_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/out.bin");
        write_atomically(&path, b"old contents").unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }
}
