//! The command-line flags every chapter's program shares, as clap argument groups a program flattens into its own
//! (`#[command(flatten)] device: DeviceArgs`).

use crate::device::quiet_gpu_probe;
use crate::{DeviceChoice, DeviceError, SelectedDevice, select_device};

/// `--device`: where to run.
#[derive(clap::Args, Debug, Clone)]
pub struct DeviceArgs {
    /// Where to run: cpu, wgpu or auto (wgpu only on a real GPU).
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
