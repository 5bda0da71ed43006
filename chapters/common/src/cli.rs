//! The command-line flags every chapter's program shares, as clap argument groups a program flattens into its own
//! (`#[command(flatten)] device: DeviceArgs`).

use crate::DeviceChoice;

/// `--device`: where to run.
#[derive(clap::Args, Debug, Clone)]
pub struct DeviceArgs {
    /// Where to run: cpu, wgpu or auto (wgpu only on a real GPU).
    #[arg(long, env = "LLM_DEVICE", default_value = "auto")]
    pub device: DeviceChoice,
}
