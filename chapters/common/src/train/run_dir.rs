//! A run's directory, the `--out` of a training command: the kit's checkpoint in `checkpoint/`, and beside it what
//! the chapter writes (loss curves, figures) and whatever the user keeps there, which the kit never touches.
//!
//! The rules, checked by [`RunDir::open`] before anything is written: `--out` must be a directory or not exist
//! yet; a new run never replaces a checkpoint silently (it needs [`Start::Overwrite`], the CLIs' `--overwrite`);
//! a resumed run needs a checkpoint to resume.

use std::fs;
use std::path::{Path, PathBuf};

use super::checkpoint::{self, CheckpointError};

/// The subdirectory of a run's directory that holds its checkpoint.
pub const CHECKPOINT_DIR: &str = "checkpoint";

/// How a run begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// A new run, in a directory that holds no checkpoint yet.
    Fresh,
    /// A new run whose first save replaces the directory's checkpoint (with a complete one: see [`checkpoint`]).
    Overwrite,
    /// The run whose checkpoint the directory holds, continued.
    Resume,
}

impl Start {
    /// The start a command's `--resume` and `--overwrite` flags ask for (clap keeps them from coming together).
    pub fn from_flags(resume: bool, overwrite: bool) -> Self {
        match (resume, overwrite) {
            (true, _) => Start::Resume,
            (false, true) => Start::Overwrite,
            (false, false) => Start::Fresh,
        }
    }
}

/// A run's directory, checked for how the run starts.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// Checks that a run started as `start` may write in `root`, then creates `root`. Nothing is written or moved
    /// when the answer is an error.
    pub fn open(root: &Path, start: Start) -> Result<Self, CheckpointError> {
        let run = RunDir {
            root: root.to_path_buf(),
        };
        for path in [root.to_path_buf(), run.checkpoint()] {
            if path.exists() && !path.is_dir() {
                return Err(CheckpointError::NotADirectory(path));
            }
        }
        let saved = checkpoint::find(&run.checkpoint()).is_ok();
        match start {
            Start::Fresh if saved => return Err(CheckpointError::AlreadyThere(root.to_path_buf())),
            Start::Resume if !saved => return Err(CheckpointError::Missing(root.to_path_buf())),
            _ => {}
        }
        fs::create_dir_all(root).map_err(|source| CheckpointError::Write {
            dir: root.to_path_buf(),
            source,
        })?;
        Ok(run)
    }

    /// The run's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the run's checkpoint is saved ([`checkpoint::save`]'s `dir`).
    pub fn checkpoint(&self) -> PathBuf {
        self.root.join(CHECKPOINT_DIR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_error(root: &Path, start: Start) -> String {
        RunDir::open(root, start).unwrap_err().to_string()
    }

    #[test]
    fn a_file_where_the_run_directory_goes_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("notes.txt");
        fs::write(&file, "mine").unwrap();
        for start in [Start::Fresh, Start::Overwrite, Start::Resume] {
            let error = open_error(&file, start);
            assert!(error.contains("is a file, not a directory"), "{error}");
        }
        fs::create_dir(dir.path().join("run")).unwrap();
        fs::write(dir.path().join("run").join(CHECKPOINT_DIR), "mine").unwrap();
        let error = open_error(&dir.path().join("run"), Start::Overwrite);
        assert!(error.contains("is a file, not a directory"), "{error}");
        assert_eq!(fs::read_to_string(&file).unwrap(), "mine");
        assert!(!dir.path().join("notes.txt.old").exists());
    }

    #[test]
    fn a_new_run_over_a_checkpoint_needs_overwrite_and_a_resumed_one_needs_a_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("run");
        let error = open_error(&root, Start::Resume);
        assert!(error.contains("no checkpoint in"), "{error}");
        assert!(!root.exists(), "a refused start created its directory");
        let run = RunDir::open(&root, Start::Fresh).unwrap();
        assert!(root.is_dir());
        fs::create_dir(run.checkpoint()).unwrap();
        fs::write(run.checkpoint().join(checkpoint::STATE_FILE), "{}").unwrap();
        let error = open_error(&root, Start::Fresh);
        assert!(
            error.contains("already holds a checkpoint") && error.contains("--resume") && error.contains("--overwrite"),
            "{error}"
        );
        RunDir::open(&root, Start::Overwrite).unwrap();
        RunDir::open(&root, Start::Resume).unwrap();
        assert_eq!(Start::from_flags(true, false), Start::Resume);
        assert_eq!(Start::from_flags(false, true), Start::Overwrite);
        assert_eq!(Start::from_flags(false, false), Start::Fresh);
    }
}
