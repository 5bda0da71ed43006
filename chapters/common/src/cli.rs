//! The command-line flags every chapter's program shares, as clap argument groups a program flattens into its own
//! (`#[command(flatten)] device: DeviceArgs`).

use crate::{DeviceChoice, DeviceError, SelectedDevice, select_device};

/// `--device`: where to run.
#[derive(clap::Args, Debug, Clone)]
pub struct DeviceArgs {
    /// Where to run: cpu, wgpu or auto (wgpu only on a real GPU).
    #[arg(long, env = "LLM_DEVICE", default_value = "auto")]
    pub device: DeviceChoice,
}

impl DeviceArgs {
    /// The device asked for, made burn's default when it is the CPU ([`SelectedDevice::make_default`]); for a
    /// program's `main`, before it starts threads.
    pub fn select(&self) -> Result<SelectedDevice, DeviceError> {
        let selected = select_device(self.device)?;
        selected.make_default();
        Ok(selected)
    }
}
