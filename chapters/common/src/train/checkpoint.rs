//! A run saved to disk: its model, its optimizer's state, and a JSON state (step, configuration, history) of the
//! chapter's own type, in one directory that is replaced atomically.
//!
//! The guarantee: at every moment, a complete checkpoint can be read from `dir`. A save writes every file into
//! `dir.tmp` (each synced to disk), then renames `dir` to `dir.old` and `dir.tmp` to `dir`, then removes
//! `dir.old`; a process killed at any point (even by SIGKILL) leaves either the previous checkpoint or the new one,
//! as `dir` or, between the two renames, as `dir.old`, which [`find`] also reads.
//!
//! Two more rules keep a save from destroying anything: it refuses a model whose weights are not all finite (a
//! diverged run keeps its last good checkpoint), and it refuses to replace a `dir` that holds files no checkpoint
//! writes (the user's, which the replacement would delete). A run keeps its checkpoint in a `checkpoint/`
//! subdirectory of its own directory ([`super::run_dir`]), so the files a user puts beside it are never at risk.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::ModuleOptimizer;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Tensor};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::InvalidConfig;

/// The model's weights (burnpack).
pub const MODEL_FILE: &str = "model.bpk";
/// The optimizer's state: Adam's moments for each parameter (burnpack).
pub const OPTIMIZER_FILE: &str = "optimizer.bpk";
/// The chapter's state: step, configuration, history (JSON).
pub const STATE_FILE: &str = "state.json";

/// What can go wrong saving or loading a checkpoint; each message names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("no checkpoint in {}: train a run there first, or give the directory of one", .0.display())]
    Missing(PathBuf),
    #[error(
        "{} already holds a checkpoint: pass --resume to continue that run, --overwrite to start a new one that \
         replaces it, or another --out",
        .0.display()
    )]
    AlreadyThere(PathBuf),
    #[error("{} is a file, not a directory: a run's --out must be a directory (new or existing)", .0.display())]
    NotADirectory(PathBuf),
    #[error(
        "{} is in use by another run ({holder} holds its lock, {}): wait for it to end, or pass another --out",
        dir.display(),
        dir.join(crate::train::run_dir::LOCK_FILE).display()
    )]
    Busy { dir: PathBuf, holder: String },
    #[error(
        "cannot lock {} for this run ({source}): a run's --out must be on a file system that can lock files, one \
         run at a time",
        path.display()
    )]
    Lock { path: PathBuf, source: std::io::Error },
    #[error(
        "{} holds files that no checkpoint writes ({}); a save replaces that directory as a whole, so it would \
         delete them: move them elsewhere",
        dir.display(),
        files.join(", ")
    )]
    ForeignFiles { dir: PathBuf, files: Vec<String> },
    #[error(
        "the model has weights that are not finite (NaN or infinity): the run diverged, so {} keeps its previous \
         checkpoint",
        .0.display()
    )]
    NonFiniteWeights(PathBuf),
    #[error("{} holds a checkpoint of {found}, not of {expected}: give this command a run of {expected}", dir.display())]
    OtherKind {
        dir: PathBuf,
        found: String,
        expected: String,
    },
    #[error("cannot read {}: {source}; is this a checkpoint directory?", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write the checkpoint {}: {source}", dir.display())]
    Write { dir: PathBuf, source: std::io::Error },
    #[error("cannot serialise the {what}: {message}")]
    Serialise { what: &'static str, message: String },
    #[error("{} is not a {what} ({message}); the checkpoint is damaged: train again or restore it", path.display())]
    Corrupt {
        path: PathBuf,
        what: &'static str,
        message: String,
    },
    #[error(
        "the weights in {} do not fit the model configuration ({message}); they come from a different \
         configuration: pass the checkpoint directory they were saved in",
        path.display()
    )]
    Mismatch { path: PathBuf, message: String },
    #[error("the checkpoint in {}: {source}", dir.display())]
    InvalidConfig { dir: PathBuf, source: InvalidConfig },
}

// ANCHOR: save
/// Saves `model` (in inference form, without autodiff), `optimizer`'s state, `state` as JSON and the `extra` files
/// (a tokenizer, say) as the checkpoint `dir`, replacing the one there atomically (see the [module](self) docs).
pub fn save<M: Module, S: Serialize>(
    dir: &Path,
    model: &M,
    optimizer: &ModuleOptimizer,
    state: &S,
    extra: &[(&str, &[u8])],
) -> Result<(), CheckpointError> {
    let model = model.valid();
    if !all_finite(&model) {
        return Err(CheckpointError::NonFiniteWeights(dir.to_path_buf()));
    }
    let model = model.into_record().into_bytes().map_err(|e| serialise("model", e))?;
    let optimizer = optimizer.into_bytes().map_err(|e| serialise("optimizer", e))?;
    let state = serde_json::to_vec_pretty(state).map_err(|e| serialise("training state", e))?;
    let mut files: Vec<(&str, &[u8])> = vec![(MODEL_FILE, &model), (OPTIMIZER_FILE, &optimizer), (STATE_FILE, &state)];
    files.extend_from_slice(extra);
    if dir.exists() && !dir.is_dir() {
        return Err(CheckpointError::NotADirectory(dir.to_path_buf()));
    }
    let foreign = foreign_files(dir, &files);
    if !foreign.is_empty() {
        return Err(CheckpointError::ForeignFiles {
            dir: dir.to_path_buf(),
            files: foreign,
        });
    }
    replace_dir(dir, &files).map_err(|source| CheckpointError::Write {
        dir: dir.to_path_buf(),
        source,
    })
}
// ANCHOR_END: save

/// Whether every float parameter of `model` is finite, read from the device in one transfer.
fn all_finite<M: Module>(model: &M) -> bool {
    #[derive(Default)]
    struct Finite(Vec<Tensor<1>>);
    impl ModuleVisitor for Finite {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.val().is_finite().all().float());
        }
    }
    let mut finite = Finite::default();
    model.visit(&mut finite);
    finite.0.is_empty() || Tensor::cat(finite.0, 0).min().into_scalar::<f32>() == 1.0
}

/// The names of the entries of `dir` (if it exists) that are not among `files`.
fn foreign_files(dir: &Path, files: &[(&str, &[u8])]) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut foreign: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| !files.iter().any(|(ours, _)| ours == name))
        .collect();
    foreign.sort();
    foreign
}

fn serialise(what: &'static str, error: impl std::fmt::Display) -> CheckpointError {
    CheckpointError::Serialise {
        what,
        message: error.to_string(),
    }
}

/// Makes `dir` hold exactly `files`: written into `dir.tmp` and synced, then `dir` is renamed to `dir.old`,
/// `dir.tmp` to `dir`, and `dir.old` removed.
fn replace_dir(dir: &Path, files: &[(&str, &[u8])]) -> std::io::Result<()> {
    let (tmp, old) = (sibling(dir, "tmp"), sibling(dir, "old"));
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    fs::create_dir_all(&tmp)?;
    for (name, bytes) in files {
        let mut file = fs::File::create(tmp.join(name))?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    if dir.exists() {
        if old.exists() {
            fs::remove_dir_all(&old)?;
        }
        fs::rename(dir, &old)?;
    }
    fs::rename(&tmp, dir)?;
    if old.exists() {
        fs::remove_dir_all(&old)?;
    }
    Ok(())
}

/// `dir` with `.suffix` appended to its last component (`runs/gpt` -> `runs/gpt.old`; `runs/v1.5` -> `runs/v1.5.old`).
fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(suffix);
    dir.with_file_name(name)
}

/// The directory that holds the checkpoint of `path`, a run's directory or a checkpoint directory itself: its
/// `checkpoint/` ([`super::run_dir`]) or `path`, or either's `.old` if a save was interrupted between its two
/// renames.
pub fn find(path: &Path) -> Result<PathBuf, CheckpointError> {
    let inside = path.join(super::run_dir::CHECKPOINT_DIR);
    [
        inside.clone(),
        sibling(&inside, "old"),
        path.to_path_buf(),
        sibling(path, "old"),
    ]
    .into_iter()
    .find(|dir| dir.join(STATE_FILE).is_file())
    .ok_or_else(|| CheckpointError::Missing(path.to_path_buf()))
}

/// The bytes of the file `name` of the checkpoint directory `dir` (as returned by [`find`]).
pub fn read_file(dir: &Path, name: &str) -> Result<Vec<u8>, CheckpointError> {
    let path = dir.join(name);
    fs::read(&path).map_err(|source| CheckpointError::Read { path, source })
}

/// The chapter's state saved in `dir` (as returned by [`find`]).
pub fn read_state<S: DeserializeOwned>(dir: &Path) -> Result<S, CheckpointError> {
    serde_json::from_slice(&read_file(dir, STATE_FILE)?).map_err(|error| corrupt_state(dir, error))
}

/// The error for a `state.json` in `dir` that does not hold the state asked for.
pub fn corrupt_state(dir: &Path, error: serde_json::Error) -> CheckpointError {
    CheckpointError::Corrupt {
        path: dir.join(STATE_FILE),
        what: "training state",
        message: error.to_string(),
    }
}

/// The weights saved in `dir` (as returned by [`find`]) loaded into `fresh`, a model built from the checkpoint's
/// configuration; weights of another shape are a [`CheckpointError::Mismatch`].
pub fn load_model<M: Module>(dir: &Path, fresh: M) -> Result<M, CheckpointError> {
    let path = dir.join(MODEL_FILE);
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(read_file(dir, MODEL_FILE)?)).map_err(|e| {
        CheckpointError::Corrupt {
            path: path.clone(),
            what: "burnpack model",
            message: e.to_string(),
        }
    })?;
    fresh.try_load_record(record).map_err(|e| CheckpointError::Mismatch {
        path,
        message: e.to_string(),
    })
}

/// `optimizer` (built for the loaded model, as when the run started) with the state saved in `dir`.
pub fn load_optimizer(dir: &Path, optimizer: ModuleOptimizer) -> Result<ModuleOptimizer, CheckpointError> {
    let bytes = Bytes::from_bytes_vec(read_file(dir, OPTIMIZER_FILE)?);
    optimizer.from_bytes(bytes).map_err(|e| CheckpointError::Corrupt {
        path: dir.join(OPTIMIZER_FILE),
        what: "optimizer state",
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use burn::module::Param;
    use burn::optim::AdamWConfig;
    use burn::tensor::{Device, Tensor};

    use super::*;
    use crate::train::adamw;

    /// A model whose every weight is `version`, so that a loaded one tells which save it came from.
    #[derive(Module, Debug)]
    struct Probe {
        weight: Param<Tensor<2>>,
        bias: Param<Tensor<1>>,
    }

    fn probe(version: f32, width: usize) -> Probe {
        let device = Device::flex();
        Probe {
            weight: Param::from_tensor(Tensor::full([width, width], version, &device)),
            bias: Param::from_tensor(Tensor::full([width], version, &device)),
        }
    }

    fn weights(model: &Probe) -> Vec<f32> {
        let mut all = model.weight.val().into_data().try_to_vec::<f32>().unwrap();
        all.extend(model.bias.val().into_data().try_to_vec::<f32>().unwrap());
        all
    }

    fn save_version(dir: &Path, version: u64, padding: usize) {
        let model = probe(version as f32, 64);
        let optimizer = adamw(&AdamWConfig::new(), &model);
        let padding = vec![version as u8; padding];
        save(dir, &model, &optimizer, &version, &[("padding.bin", &padding)]).unwrap();
    }

    /// The checkpoint found for `dir` is one whole save: its state, weights and extra file all name one version.
    fn assert_whole(dir: &Path) -> u64 {
        let found = find(dir).unwrap();
        let version: u64 = read_state(&found).unwrap();
        let model = load_model(&found, probe(0.0, 64)).unwrap();
        assert!(
            weights(&model).iter().all(|&w| w == version as f32),
            "weights of another save than {version}"
        );
        let padding = read_file(&found, "padding.bin").unwrap();
        assert!(
            padding.iter().all(|&b| b == version as u8),
            "extra file of another save than {version}"
        );
        load_optimizer(&found, adamw(&AdamWConfig::new(), &model)).unwrap();
        version
    }

    #[test]
    fn a_checkpoint_round_trips_and_a_newer_one_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        save_version(&run, 1, 10);
        assert_eq!(assert_whole(&run), 1);
        save_version(&run, 2, 10);
        assert_eq!(assert_whole(&run), 2);
        assert!(!sibling(&run, "tmp").exists() && !sibling(&run, "old").exists());
    }

    /// Killed between the two renames, a save leaves the previous checkpoint as `dir.old`, which is found.
    #[test]
    fn a_checkpoint_left_as_old_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run.v1");
        save_version(&run, 3, 10);
        fs::rename(&run, sibling(&run, "old")).unwrap();
        assert_eq!(assert_whole(&run), 3);
        save_version(&run, 4, 10);
        assert_eq!(assert_whole(&run), 4);
        assert!(!sibling(&run, "old").exists());
    }

    #[test]
    fn missing_damaged_and_mismatched_checkpoints_are_errors_that_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let missing = find(&run).unwrap_err().to_string();
        assert!(
            missing.contains("no checkpoint in") && missing.contains("train a run there first"),
            "{missing}"
        );
        save_version(&run, 5, 10);
        let wider = load_model(&run, probe(0.0, 65)).unwrap_err().to_string();
        assert!(wider.contains("do not fit the model configuration"), "{wider}");
        fs::write(run.join(MODEL_FILE), b"not burnpack").unwrap();
        let damaged = load_model(&run, probe(0.0, 64)).unwrap_err().to_string();
        assert!(damaged.contains("is not a burnpack model"), "{damaged}");
        fs::write(run.join(STATE_FILE), b"{").unwrap();
        let state = read_state::<u64>(&run).unwrap_err().to_string();
        assert!(state.contains("is not a training state"), "{state}");
    }

    /// A save never deletes what it did not write, and never replaces a good checkpoint with a diverged model.
    #[test]
    fn a_save_refuses_to_delete_foreign_files_or_to_keep_non_finite_weights() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        save_version(&run, 6, 10);
        fs::write(run.join("notes.txt"), "mine").unwrap();
        let model = probe(7.0, 64);
        let optimizer = adamw(&AdamWConfig::new(), &model);
        let padding = vec![7u8; 10];
        let extra: [(&str, &[u8]); 1] = [("padding.bin", &padding)];
        let refused = save(&run, &model, &optimizer, &7u64, &extra).unwrap_err().to_string();
        assert!(
            refused.contains("holds files that no checkpoint writes (notes.txt)"),
            "{refused}"
        );
        assert_eq!(fs::read_to_string(run.join("notes.txt")).unwrap(), "mine");
        fs::remove_file(run.join("notes.txt")).unwrap();
        assert_eq!(assert_whole(&run), 6);

        for bad in [f32::NAN, f32::INFINITY] {
            let diverged = probe(bad, 64);
            let refused = save(&run, &diverged, &optimizer, &8u64, &extra)
                .unwrap_err()
                .to_string();
            assert!(
                refused.contains("not finite") && refused.contains("keeps its previous"),
                "{refused}"
            );
            assert_eq!(assert_whole(&run), 6);
        }

        let file = dir.path().join("a-file");
        fs::write(&file, "mine").unwrap();
        let refused = save(&file, &model, &optimizer, &9u64, &extra).unwrap_err().to_string();
        assert!(refused.contains("is a file, not a directory"), "{refused}");
        assert_eq!(fs::read_to_string(&file).unwrap(), "mine");
        assert!(!sibling(&file, "old").exists() && !sibling(&file, "tmp").exists());
    }

    /// A run's directory or its `checkpoint/` subdirectory: either names the same checkpoint.
    #[test]
    fn a_checkpoint_is_found_from_its_run_directory() {
        let dir = tempfile::tempdir().unwrap();
        let run = crate::train::RunDir::open(&dir.path().join("run"), crate::train::Start::Fresh).unwrap();
        save_version(&run.checkpoint(), 10, 10);
        assert_eq!(find(run.root()).unwrap(), run.checkpoint());
        assert_eq!(find(&run.checkpoint()).unwrap(), run.checkpoint());
        assert_eq!(assert_whole(run.root()), 10);
    }

    const SAVE_UNTIL_KILLED: &str = "KIT_SAVE_UNTIL_KILLED";

    /// Not a test of its own: [`a_save_killed_at_any_moment_leaves_a_whole_checkpoint`] runs it in a child process,
    /// which saves versions 1, 2, 3, ... to the directory named in `KIT_SAVE_UNTIL_KILLED` until it is killed.
    #[test]
    #[ignore = "a helper, run in a child process by a_save_killed_at_any_moment_leaves_a_whole_checkpoint"]
    fn saves_until_killed() {
        let Some(dir) = std::env::var_os(SAVE_UNTIL_KILLED) else {
            return;
        };
        for version in 1.. {
            save_version(Path::new(&dir), version, 8 << 20);
        }
    }

    /// SIGKILL, which no program can catch or clean up after, at several moments of a process busy saving: what
    /// is left is always one whole checkpoint, which loads, optimizer state included.
    #[test]
    fn a_save_killed_at_any_moment_leaves_a_whole_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let mut interrupted = 0;
        for delay_ms in [0, 7, 23, 61, 130, 3, 11, 37] {
            let mut child = Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "train::checkpoint::tests::saves_until_killed", "--ignored"])
                .env(SAVE_UNTIL_KILLED, &run)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let started = Instant::now();
            while find(&run).is_err() {
                assert!(started.elapsed() < Duration::from_secs(120), "the child never saved");
                std::thread::sleep(Duration::from_millis(5));
            }
            std::thread::sleep(Duration::from_millis(delay_ms));
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            interrupted += usize::from(sibling(&run, "tmp").exists());
            assert_whole(&run);
        }
        // Each save writes 8 MB and syncs it, so most kills land in the middle of one, leaving its `run.tmp`.
        assert!(
            interrupted > 0,
            "no kill interrupted a save: the test did not test what it says"
        );
    }
}
