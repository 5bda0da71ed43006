//! A run's directory, the `--out` of a training command: the kit's checkpoint in `checkpoint/`, and beside it what
//! the chapter writes (loss curves, figures) and whatever the user keeps there, which the kit never touches.
//!
//! The rules, checked by [`RunDir::open`] before anything is written: `--out` must be a directory or not exist
//! yet; a new run never replaces a checkpoint silently (it needs [`Start::Overwrite`], the CLIs' `--overwrite`);
//! a resumed run needs a checkpoint to resume; and one run at a time: the run holds a lock on the directory's
//! [`LOCK_FILE`] while it lives, so that a second run into the same `--out` is refused instead of replacing the
//! first one's checkpoint. The operating system releases the lock when the process ends, however it ends, so a
//! crashed run leaves no stale lock behind.

use std::fs::{self, File, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::checkpoint::{self, CheckpointError};

/// The subdirectory of a run's directory that holds its checkpoint.
pub const CHECKPOINT_DIR: &str = "checkpoint";

/// The file of a run's directory that the run holding it locks, and in which it writes who it is.
pub const LOCK_FILE: &str = "run.lock";

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

/// A run's directory, checked for how the run starts, and held by this run until the last clone of it is dropped.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
    /// The locked [`LOCK_FILE`]: closing it releases the lock.
    _lock: Arc<File>,
}

impl RunDir {
    /// Checks that a run started as `start` may write in `root`, creates `root` and locks it for this run (another
    /// run holding it is an error naming that run). Nothing but the directory and its lock file is written when
    /// the answer is an error, and nothing is moved.
    pub fn open(root: &Path, start: Start) -> Result<Self, CheckpointError> {
        let checkpoint_dir = root.join(CHECKPOINT_DIR);
        for path in [root.to_path_buf(), checkpoint_dir.clone()] {
            if path.exists() && !path.is_dir() {
                return Err(CheckpointError::NotADirectory(path));
            }
        }
        let saved = || checkpoint::find(&checkpoint_dir).is_ok();
        let refused = |saved: bool| match start {
            Start::Fresh if saved => Err(CheckpointError::AlreadyThere(root.to_path_buf())),
            Start::Resume if !saved => Err(CheckpointError::Missing(root.to_path_buf())),
            _ => Ok(()),
        };
        refused(saved())?;
        let write_error = |source| CheckpointError::Write {
            dir: root.to_path_buf(),
            source,
        };
        fs::create_dir_all(root).map_err(write_error)?;
        let lock = lock(root)?;
        // Asked again under the lock: a run that held the directory until now may have saved in it meanwhile.
        refused(saved())?;
        Ok(RunDir {
            root: root.to_path_buf(),
            _lock: Arc::new(lock),
        })
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

/// `root`'s [`LOCK_FILE`], locked for this process, with this process's id and command line written in it; if
/// another process holds it, [`CheckpointError::Busy`] with what that process wrote.
fn lock(root: &Path) -> Result<File, CheckpointError> {
    let path = root.join(LOCK_FILE);
    let io_error = |source| CheckpointError::Lock {
        path: path.clone(),
        source,
    };
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_error)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            file.read_to_string(&mut holder).map_err(io_error)?;
            let holder = match holder.trim() {
                "" => "a process starting up".to_string(), // it has locked the file and not yet written in it
                who => who.to_string(),
            };
            return Err(CheckpointError::Busy {
                dir: root.to_path_buf(),
                holder,
            });
        }
        Err(TryLockError::Error(source)) => return Err(io_error(source)),
    }
    let command: Vec<String> = std::env::args_os()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let who = format!("process {}: {}\n", std::process::id(), command.join(" "));
    file.set_len(0).map_err(io_error)?;
    file.rewind().map_err(io_error)?;
    file.write_all(who.as_bytes()).map_err(io_error)?;
    Ok(file)
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
    fn a_run_directory_has_one_run_at_a_time_until_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("run");
        let first = RunDir::open(&root, Start::Fresh).unwrap();
        let held = first.clone();
        drop(first);
        for start in [Start::Fresh, Start::Overwrite] {
            let error = open_error(&root, start);
            assert!(
                error.contains("in use by another run")
                    && error.contains(&format!("process {}", std::process::id()))
                    && error.contains("another --out"),
                "{error}"
            );
        }
        drop(held);
        // Another test of this process may be starting a child right now: between its fork and its exec the child
        // holds a copy of every open file, the lock's too, so the lock may outlive the drop by a moment.
        let second = (0..100)
            .find_map(|_| {
                RunDir::open(&root, Start::Fresh)
                    .inspect_err(|_| std::thread::sleep(std::time::Duration::from_millis(20)))
                    .ok()
            })
            .expect("the lock is released once its last holder is dropped");
        assert_eq!(second.root(), root);
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
        drop(run);
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
