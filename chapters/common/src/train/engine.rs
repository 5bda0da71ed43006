//! The loop every chapter trains with, as nanoGPT's `train.py` runs it: take a batch, compute the loss and its
//! gradient, clip, step the optimiser at the schedule's rate; read the losses back every few steps; evaluate at
//! intervals; save a checkpoint that a run resumes from exactly. A chapter supplies only what is its own through
//! [`Task`]: its batches, its loss, its evaluation, and what its checkpoint carries besides the weights.
//!
//! A speed plug-in is another [`Task`] for the same model: the appendix computes the same loss with fused kernels
//! and splits each batch over the CPU's cores by overriding [`Task::loss`] and [`Task::gradients`]; the loop does
//! not change.

use std::path::Path;
use std::time::Instant;

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use indicatif::ProgressBar;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::checkpoint::{self, CheckpointError};
use super::history::progress_message;
use super::{Diverged, LossPoint, WarmupCosine, check_finite, clip_global_norm};
use crate::config::InvalidConfig;
use crate::device::{DeviceFailed, read_scalars};
use crate::rng::SplitMix64;

// ANCHOR: task
/// What a chapter supplies to the loop.
pub trait Task {
    /// The model trained: a module on an autodiff device.
    type Model: Module;
    /// One step's input.
    type Batch;
    /// What an evaluation measures.
    type Score: Score;
    /// What a checkpoint's `state.json` holds of the task (its configuration, its batch generator), beside the
    /// loop's step, history and evaluations.
    type State: Serialize + DeserializeOwned;
    /// The chapter's error, which holds the loop's.
    type Error: From<Diverged> + From<CheckpointError> + From<DeviceFailed>;

    /// What the progress bar counts a batch in (tokens, examples).
    const UNIT: &'static str;
    /// What writes this task's checkpoints, as a user knows it ("chapter 5's GPT (`gpt train`)"): saved in them,
    /// so that a command given another chapter's checkpoint says whose it is instead of calling it damaged.
    const KIND: &'static str;

    /// The batch of step `step`, on `device`.
    fn batch(&mut self, step: usize, device: &Device) -> Result<Self::Batch, Self::Error>;

    /// How many [`Task::UNIT`]s `batch` holds.
    fn size(&self, batch: &Self::Batch) -> usize;

    /// The mean loss of `model` on `batch`, with its autodiff graph.
    fn loss(&self, model: &Self::Model, batch: Self::Batch) -> Tensor<1>;

    /// The loss (still on the device, without its graph) and the gradient of every parameter: backpropagation
    /// through [`Task::loss`], unless a plug-in computes them another way.
    fn gradients(&self, model: &Self::Model, batch: Self::Batch) -> (Tensor<1>, GradientsParams) {
        backpropagate(model, self.loss(model, batch))
    }

    /// Scores `model` (without autodiff, so dropout is off, on `device`) after `step` steps; `history` holds the
    /// loss of every step so far, for a score that reports the training loss too.
    fn evaluate(
        &mut self,
        model: &Self::Model,
        step: usize,
        history: &[LossPoint],
        device: &Device,
    ) -> Result<Self::Score, Self::Error>;

    /// The model a run keeps as its best ([`Keep::Best`]) and saves: `model` itself, unless the task folds
    /// something into its weights first (chapter 7 merges LoRA's matrices).
    fn kept(&self, model: Self::Model) -> Self::Model {
        model
    }

    /// The task's part of a checkpoint's state.
    fn state(&self) -> Self::State;

    /// Files a checkpoint holds beside the weights and the state (a tokenizer, a vocabulary): name and bytes.
    fn files(&self) -> Vec<(&'static str, Vec<u8>)> {
        Vec::new()
    }
}

/// An evaluation's result.
pub trait Score: Clone + Serialize + DeserializeOwned + std::fmt::Display {
    /// The step it was measured after.
    fn step(&self) -> usize;

    /// The validation loss, recorded in the history and checked to be finite.
    fn val_loss(&self) -> f64;

    /// Whether `self` is a better model than `other`'s, for [`Keep::Best`]: a lower validation loss unless the
    /// task says otherwise.
    fn better_than(&self, other: &Self) -> bool {
        self.val_loss() < other.val_loss()
    }
}
// ANCHOR_END: task

/// Which model a run's checkpoint holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The latest, saved after every evaluation: a run to resume.
    Latest,
    /// The best on validation so far, saved when an evaluation improves on it.
    Best,
}

/// How the loop runs: how long, at which rate, when it evaluates and saves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// The run's length; the schedule ends there.
    pub max_steps: usize,
    /// The learning rate at each step.
    pub schedule: WarmupCosine,
    /// Gradients are rescaled to a global L2 norm of at most this.
    pub grad_clip: f64,
    /// Evaluate every this many steps, and at the end.
    pub eval_interval: usize,
    /// Also evaluate the untrained model, at step 0.
    pub evaluate_first: bool,
    /// Read the losses back from the device every this many steps (nanoGPT's `log_interval`): each read waits for
    /// the device, so a GPU runs ahead between two.
    pub read_every: usize,
    /// Seeds the device's generator (dropout) before each step with a seed made from this and the step, so that a
    /// resumed run draws the masks the uninterrupted one drew; `None` leaves the generator running on.
    pub dropout_seed: Option<u64>,
    pub keep: Keep,
}

/// What a checkpoint's `state.json` holds: the loop's progress and the task's state.
#[derive(Debug, Serialize, Deserialize)]
pub struct Saved<S, E> {
    /// The [`Task::KIND`] that wrote it (none in a checkpoint written before the kit saved it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub step: usize,
    pub history: Vec<LossPoint>,
    pub evaluations: Vec<E>,
    #[serde(flatten)]
    pub task: S,
}

/// What [`Trainer::train`] did, and how fast: `items` counts the [`Task::UNIT`]s of every batch, `seconds` includes
/// the evaluations, which took `eval_seconds` of them (their checkpoints included).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throughput {
    pub steps: usize,
    pub seconds: f64,
    pub items: usize,
    pub eval_seconds: f64,
}

/// A run in progress: the model, the optimiser's moments, the task and what the run has recorded. Everything in
/// it but the device is in a checkpoint.
pub struct Trainer<T: Task> {
    pub task: T,
    pub model: T::Model,
    pub optimizer: ModuleOptimizer,
    pub plan: Plan,
    /// Steps done so far.
    pub step: usize,
    /// The loss and learning rate of every step read so far ([`Trainer::read_losses`]); the validation loss at
    /// evaluations.
    pub history: Vec<LossPoint>,
    pub evaluations: Vec<T::Score>,
    /// With [`Keep::Best`], the best model so far (without autodiff).
    pub best: Option<T::Model>,
    /// Step, learning rate and loss of the steps whose losses are still on the device.
    unread: Vec<(usize, f64, Tensor<1>)>,
    device: Device,
}

/// The loss (still on the device, without its graph) and the gradient of every parameter of `model` in it.
pub fn backpropagate<M: Module>(model: &M, loss: Tensor<1>) -> (Tensor<1>, GradientsParams) {
    (
        loss.clone().inner(),
        GradientsParams::from_grads(loss.backward(), model),
    )
}

/// A seed for `step` made from `seed`: the step's random draws then depend on the step alone, not on how many
/// numbers were drawn before it, so a resumed run draws what the uninterrupted run drew.
pub fn step_seed(seed: u64, step: usize) -> u64 {
    SplitMix64::new(seed ^ (step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)).next_u64()
}

impl<T: Task> Trainer<T> {
    /// A run of `task` from `model` (on `device`, with autodiff) and its `optimizer`, as `plan` says.
    pub fn new(task: T, model: T::Model, optimizer: ModuleOptimizer, plan: Plan, device: &Device) -> Self {
        Trainer {
            task,
            model,
            optimizer,
            plan,
            step: 0,
            history: Vec::new(),
            evaluations: Vec::new(),
            best: None,
            unread: Vec::new(),
            device: device.clone(),
        }
    }

    /// The same run with `task` changed by `f` into another task for the same model: a speed plug-in.
    pub fn map_task<U>(self, f: impl FnOnce(T) -> U) -> Trainer<U>
    where
        U: Task<Model = T::Model, Score = T::Score>,
    {
        Trainer {
            task: f(self.task),
            model: self.model,
            optimizer: self.optimizer,
            plan: self.plan,
            step: self.step,
            history: self.history,
            evaluations: self.evaluations,
            best: self.best,
            unread: self.unread,
            device: self.device,
        }
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    // ANCHOR: step
    /// One optimisation step; returns its loss, still on the device. Nothing in a step waits for the device, so a
    /// GPU can run one step while the program prepares the next; reading a loss waits.
    pub fn train_step(&mut self) -> Result<Tensor<1>, T::Error> {
        let batch = self.next_batch()?;
        Ok(self.train_step_on(batch))
    }

    /// The batch of the next step, with the device's generator seeded for the step's dropout masks.
    fn next_batch(&mut self) -> Result<T::Batch, T::Error> {
        if let Some(seed) = self.plan.dropout_seed {
            self.device.seed(step_seed(seed, self.step));
        }
        self.task.batch(self.step, &self.device)
    }

    /// The loss and its gradient on `batch`, the gradient clipped, one AdamW step at the schedule's rate.
    pub fn train_step_on(&mut self, batch: T::Batch) -> Tensor<1> {
        let (loss, grads) = self.task.gradients(&self.model, batch);
        let (grads, _norm) = clip_global_norm(&self.model, grads, self.plan.grad_clip as f32);
        let lr = self.plan.schedule.at(self.step);
        self.model = self.optimizer.step(lr, self.model.clone(), grads);
        self.unread.push((self.step, lr, loss.clone()));
        self.step += 1;
        loss
    }
    // ANCHOR_END: step

    /// Brings the losses of the steps since the last read from the device into `history`, in one transfer, and
    /// returns the latest. A loss that is not finite is a [`Diverged`] error: the history keeps the steps before
    /// it, and the caller stops.
    pub fn read_losses(&mut self) -> Result<Option<f32>, T::Error> {
        if !self.unread.is_empty() {
            let (steps, losses): (Vec<_>, Vec<_>) =
                self.unread.drain(..).map(|(step, lr, loss)| ((step, lr), loss)).unzip();
            for ((step, learning_rate), train_loss) in steps.into_iter().zip(read_scalars(losses)?) {
                self.history.push(LossPoint {
                    step,
                    train_loss: check_finite(step, train_loss)?,
                    val_loss: None,
                    learning_rate,
                });
            }
        }
        Ok(self.history.last().map(|point| point.train_loss))
    }

    /// Evaluates the model as it is now, records the score (the validation loss also in the history, at the last
    /// step) and, with [`Keep::Best`], keeps the model if it is the best so far.
    pub fn evaluate(&mut self) -> Result<T::Score, T::Error> {
        self.read_losses()?;
        let model = self.model.valid();
        let score = self
            .task
            .evaluate(&model, self.step, &self.history, &self.device.clone().inner())?;
        let val_loss = check_finite(self.step, score.val_loss() as f32)?;
        if let Some(point) = self.history.last_mut().filter(|p| p.step + 1 == self.step) {
            point.val_loss = Some(val_loss);
        }
        if self.plan.keep == Keep::Best && self.best_score().is_none_or(|best| score.better_than(best)) {
            self.best = Some(self.task.kept(model));
        }
        self.evaluations.push(score.clone());
        Ok(score)
    }

    /// The score of the best model so far ([`Keep::Best`]), or of the latest.
    pub fn best_score(&self) -> Option<&T::Score> {
        match self.plan.keep {
            Keep::Latest => self.evaluations.last(),
            Keep::Best => self
                .evaluations
                .iter()
                .reduce(|a, b| if b.better_than(a) { b } else { a }),
        }
    }

    // ANCHOR: train
    /// Trains until step `until` (at most the plan's `max_steps`), evaluating every `eval_interval` steps and at
    /// `max_steps` (and at step 0 if the plan says so), saving a checkpoint to `checkpoint` after each evaluation (the
    /// latest model) or each improvement (the best). With `progress`, shows the run there and prints each
    /// evaluation.
    pub fn train(
        &mut self,
        until: usize,
        checkpoint: Option<&Path>,
        progress: Option<&ProgressBar>,
    ) -> Result<Throughput, T::Error> {
        let plan = self.plan;
        let until = until.min(plan.max_steps);
        let (hidden, show) = (ProgressBar::hidden(), progress.is_some());
        let progress = progress.unwrap_or(&hidden);
        let (started, first_step, mut items, mut eval_seconds) = (Instant::now(), self.step, 0, 0.0);
        loop {
            let due = self.step.is_multiple_of(plan.eval_interval) || self.step == plan.max_steps;
            let first = self.step == 0 && !plan.evaluate_first;
            let evaluated = self.evaluations.last().is_some_and(|e| e.step() == self.step);
            if due && !first && !evaluated {
                let evaluation_started = Instant::now();
                let score = self.evaluate()?;
                if show {
                    // Printed past the bar, so that the evaluations also reach a log when stderr is not a terminal.
                    progress.suspend(|| eprintln!("step {:>5}: {score}", score.step()));
                }
                let improved = self.best_score().is_some_and(|best| best.step() == score.step());
                if let Some(dir) = checkpoint.filter(|_| plan.keep == Keep::Latest || improved) {
                    self.save(dir)?;
                }
                eval_seconds += evaluation_started.elapsed().as_secs_f64();
            }
            if self.step >= until {
                break;
            }
            let batch = self.next_batch()?;
            items += self.task.size(&batch);
            self.train_step_on(batch);
            progress.set_position(self.step as u64);
            if self.step.is_multiple_of(plan.read_every) {
                let loss = self.read_losses()?.unwrap_or(f32::NAN);
                let per_second = items as f64 / started.elapsed().as_secs_f64();
                progress.set_message(progress_message(loss, per_second, T::UNIT));
            }
        }
        self.read_losses()?;
        Ok(Throughput {
            steps: self.step - first_step,
            seconds: started.elapsed().as_secs_f64(),
            items,
            eval_seconds,
        })
    }
    // ANCHOR_END: train

    /// The score of the model as it is now: the last evaluation if it was made at this step, otherwise a new one,
    /// saved to `checkpoint` (a run stopped between two evaluations, by `until`, is then scored and kept where it
    /// stopped).
    pub fn final_score(&mut self, checkpoint: Option<&Path>) -> Result<T::Score, T::Error> {
        if let Some(last) = self.evaluations.last().filter(|e| e.step() == self.step) {
            return Ok(last.clone());
        }
        let score = self.evaluate()?;
        if let Some(dir) = checkpoint {
            self.save(dir)?;
        }
        Ok(score)
    }

    /// Times `steps` steps after `warmup` untimed ones (the first steps pay for allocation and, on a GPU, for
    /// compiling kernels), evaluating nothing. As in [`Trainer::train`], the steps do not wait for the device; the
    /// clock stops when the last loss has been read, that is when the device has finished every step.
    pub fn time_steps(&mut self, warmup: usize, steps: usize) -> Result<Throughput, T::Error> {
        for _ in 0..warmup {
            self.train_step()?;
        }
        self.read_losses()?;
        let (started, mut items) = (Instant::now(), 0);
        for _ in 0..steps {
            let batch = self.next_batch()?;
            items += self.task.size(&batch);
            self.train_step_on(batch);
        }
        self.read_losses()?;
        Ok(Throughput {
            steps,
            seconds: started.elapsed().as_secs_f64(),
            items,
            eval_seconds: 0.0,
        })
    }

    // ANCHOR: save
    /// Writes the run to the checkpoint directory `dir`, atomically (the kit's [`checkpoint::save`]: a crash
    /// mid-write leaves the previous checkpoint whole): the model (with [`Keep::Best`], the best one), the
    /// optimiser's state, the step, history and evaluations, the task's state and files.
    pub fn save(&mut self, dir: &Path) -> Result<(), T::Error> {
        self.read_losses()?;
        let saved = Saved {
            kind: Some(T::KIND.to_string()),
            step: self.step,
            history: self.history.clone(),
            evaluations: self.evaluations.clone(),
            task: self.task.state(),
        };
        let files = self.task.files();
        let files: Vec<(&str, &[u8])> = files.iter().map(|(name, bytes)| (*name, bytes.as_slice())).collect();
        let model = self
            .best
            .as_ref()
            .filter(|_| self.plan.keep == Keep::Best)
            .unwrap_or(&self.model);
        checkpoint::save(dir, model, &self.optimizer, &saved, &files)?;
        Ok(())
    }

    /// The run saved in `dir` continued: `self` is a fresh run built from the checkpoint's state (see
    /// [`read_saved`]), into which the weights, the optimiser's moments, the step, history and evaluations are
    /// loaded. (A run that keeps its best model starts its search for a better one afresh.)
    pub fn resume(mut self, dir: &Path, saved: Saved<T::State, T::Score>) -> Result<Self, T::Error> {
        self.model = checkpoint::load_model(dir, self.model)?;
        self.optimizer = checkpoint::load_optimizer(dir, self.optimizer)?;
        self.step = saved.step;
        self.history = saved.history;
        self.evaluations = saved.evaluations;
        Ok(self)
    }
    // ANCHOR_END: save
}

/// The checkpoint directory of `path` (a run's directory or its checkpoint, see [`checkpoint::find`]) and the state
/// saved there ([`read_saved_state`]), whose task state passes `validate`: a value edited or damaged into one no
/// model can be built with is an error naming the field, not a panic later.
pub fn read_saved<S: DeserializeOwned, E: DeserializeOwned>(
    path: &Path,
    kind: &str,
    validate: impl FnOnce(&S) -> Result<(), InvalidConfig>,
) -> Result<(std::path::PathBuf, Saved<S, E>), CheckpointError> {
    let dir = checkpoint::find(path)?;
    let saved: Saved<S, E> = read_saved_state(&dir, kind)?;
    validate(&saved.task).map_err(|source| CheckpointError::InvalidConfig {
        dir: dir.clone(),
        source,
    })?;
    Ok((dir, saved))
}

/// The state saved in the checkpoint directory `dir` (as [`checkpoint::find`] returns it), read once: one its
/// `state.json` says another [`Task::KIND`] than `kind` wrote is an error naming both, not a damaged file.
pub fn read_saved_state<S: DeserializeOwned, E: DeserializeOwned>(
    dir: &Path,
    kind: &str,
) -> Result<Saved<S, E>, CheckpointError> {
    let state: serde_json::Value = checkpoint::read_state(dir)?;
    if let Some(found) = state
        .get("kind")
        .and_then(|found| found.as_str())
        .filter(|found| *found != kind)
    {
        return Err(CheckpointError::OtherKind {
            dir: dir.to_path_buf(),
            found: found.to_string(),
            expected: kind.to_string(),
        });
    }
    serde_json::from_value(state).map_err(|error| checkpoint::corrupt_state(dir, error))
}
