//! What the appendix's benchmarks share: rounds in which a chapter's code and the kernels take turns going first,
//! on the same machine, so that a drift in its speed falls on both.

use anyhow::Context;
use common::cli::{DeviceArgs, at_least_one};
use common::train::Throughput;

/// The flags of a benchmark taking turns.
#[derive(clap::Args, Debug)]
pub struct Turns {
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Timed steps of each, per round.
    #[arg(long, default_value_t = 20, value_parser = at_least_one)]
    pub steps: usize,
    /// Rounds: the chapter's code then the kernels, then the other way round, and so on.
    #[arg(long, default_value_t = 2, value_parser = at_least_one)]
    pub rounds: usize,
    /// Slices each batch is split in on the kernels (default: one per core on the CPU, one on a GPU).
    #[arg(long, value_parser = at_least_one)]
    pub slices: Option<usize>,
}

impl Turns {
    /// [`take_turns`] for `self.rounds` rounds of training steps.
    pub fn take_turns(
        &self,
        chapter_name: &str,
        chapter: impl Fn() -> anyhow::Result<Throughput>,
        kernels: impl Fn() -> anyhow::Result<Throughput>,
        report: impl Fn(&str, Throughput),
    ) -> anyhow::Result<()> {
        take_turns(self.rounds, chapter_name, chapter, kernels, report)
    }
}

/// Times `chapter` (the chapter's code, named `chapter_name`) and `kernels` in `rounds` rounds, the first going
/// first in even rounds, each timing given to `report` with its name.
pub fn take_turns<T>(
    rounds: usize,
    chapter_name: &str,
    chapter: impl Fn() -> anyhow::Result<T>,
    kernels: impl Fn() -> anyhow::Result<T>,
    report: impl Fn(&str, T),
) -> anyhow::Result<()> {
    let kernels_name = "the appendix's kernels";
    for round in 0..rounds {
        let chapter = || chapter().with_context(|| format!("timing {chapter_name}"));
        let kernels = || kernels().with_context(|| format!("timing {kernels_name}"));
        if round % 2 == 0 {
            report(chapter_name, chapter()?);
            report(kernels_name, kernels()?);
        } else {
            report(kernels_name, kernels()?);
            report(chapter_name, chapter()?);
        }
    }
    Ok(())
}
