//! The command-line flags every chapter's program shares, as clap argument groups a program flattens into its own
//! (`#[command(flatten)] device: DeviceArgs`): the device, and the flags of a training run.

use std::path::{Path, PathBuf};

use crate::device::quiet_gpu_probe;
use crate::train::{CheckpointError, RunDir, Start};
use crate::{DeviceChoice, DeviceError, SelectedDevice, select_device};

/// `--device`: where to run.
#[derive(clap::Args, Debug, Clone)]
pub struct DeviceArgs {
    /// Where to run: cpu, wgpu or auto (wgpu only on a real GPU; a build with `--features wgpu` has it).
    #[arg(long, env = "LLM_DEVICE", default_value = "auto")]
    pub device: DeviceChoice,
}

impl DeviceArgs {
    /// The device asked for, found without Mesa's noise ([`quiet_gpu_probe`]) and made burn's default when it is
    /// the CPU ([`SelectedDevice::make_default`]); for a program's `main`, before it starts threads.
    pub fn select(&self) -> Result<SelectedDevice, DeviceError> {
        quiet_gpu_probe();
        let selected = select_device(self.device)?;
        selected.make_default();
        Ok(selected)
    }
}

impl DeviceArgs {
    /// [`DeviceArgs::select`], then `device: ...` on stderr (so that a command's own output, a sample or a table,
    /// is alone on stdout).
    pub fn announce(&self) -> Result<SelectedDevice, DeviceError> {
        let selected = self.select()?;
        eprintln!("device: {}", selected.description);
        Ok(selected)
    }
}

/// The flags of a training run, shared by every chapter that trains from the command line (flattened into its
/// `train` or `pretrain`): where it runs, from which configuration and seed, how far, on which text, and where it
/// goes.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub device: DeviceArgs,
    /// A preset (listed below) or a JSON file of a run configuration.
    #[arg(long, conflicts_with = "resume")]
    pub config: Option<String>,
    /// Stop after this many steps, at most the configuration's max_iters (the learning-rate schedule follows the
    /// configuration).
    #[arg(long)]
    pub max_iters: Option<usize>,
    #[arg(long, conflicts_with = "resume")]
    pub seed: Option<u64>,
    /// A text file to train on instead of Tiny Shakespeare.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The run's directory (default below): its checkpoint in `checkpoint/` and the loss curve. Other files there
    /// are left alone.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run saved in --out, with its own configuration and seed.
    #[arg(long)]
    pub resume: bool,
    /// Start a new run in an --out that holds a checkpoint, replacing it at the first save.
    #[arg(long, conflicts_with = "resume")]
    pub overwrite: bool,
}

/// A `--max-iters` the run cannot stop at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MaxItersError {
    #[error(
        "--max-iters {until} is past the configuration's max_iters {max_iters}, where its learning-rate schedule \
         ends: pass at most {max_iters}, or a --config file with a larger max_iters"
    )]
    PastTheSchedule { until: usize, max_iters: usize },
    #[error(
        "the run is at step {step} already, so --max-iters {until} leaves nothing to train: pass a --max-iters above \
         {step}"
    )]
    NothingToTrain { until: usize, step: usize },
    #[error(
        "the run is at step {step}, its configuration's max_iters, so there is nothing left to train: it is \
         finished (start a longer one with --overwrite, or in another --out)"
    )]
    Finished { step: usize },
}

impl RunArgs {
    /// The run's directory, `--out` or `runs/{tool}`, opened as `--resume` and `--overwrite` say.
    pub fn run_dir(&self, tool: &str) -> Result<RunDir, CheckpointError> {
        let out = self.out.clone().unwrap_or_else(|| Path::new("runs").join(tool));
        RunDir::open(&out, Start::from_flags(self.resume, self.overwrite))
    }

    /// `--config`, or the chapter's `default` preset.
    pub fn config_or<'a>(&'a self, default: &'a str) -> &'a str {
        self.config.as_deref().unwrap_or(default)
    }

    /// Where a run now at `step` stops: `--max-iters`, which must lie past the step and not past the
    /// configuration's `max_iters`, or `max_iters` itself, which a finished run has reached.
    pub fn until(&self, max_iters: usize, step: usize) -> Result<usize, MaxItersError> {
        match self.max_iters {
            Some(until) if until > max_iters => Err(MaxItersError::PastTheSchedule { until, max_iters }),
            Some(until) if until <= step => Err(MaxItersError::NothingToTrain { until, step }),
            Some(until) => Ok(until),
            None if max_iters <= step => Err(MaxItersError::Finished { step }),
            None => Ok(max_iters),
        }
    }
}

/// clap's parser for a flag that must be a finite number above 0 (a learning rate, LoRA's α): the flag's error
/// names its range, instead of a run that diverges or trains backwards.
pub fn positive_number(text: &str) -> Result<f64, String> {
    let value: f64 = text.trim().parse().map_err(|_| format!("`{text}` is not a number"))?;
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(format!("{value} is out of range: give a finite number above 0"))
    }
}

/// clap's parser for a count that must be at least 1 (epochs, LoRA's rank).
pub fn at_least_one(text: &str) -> Result<usize, String> {
    let value: usize = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a whole number"))?;
    if value >= 1 {
        Ok(value)
    } else {
        Err("0 is out of range: give at least 1".to_string())
    }
}
