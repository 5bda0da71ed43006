//! Picking the device a chapter runs on: `cpu`, `wgpu` or `auto`.
//!
//! burn 0.22 has no backend type parameter: one `Tensor<D>` type runs on whichever [`Device`] created it. The
//! project builds two backends in: `flex`, a pure-Rust CPU backend, and `wgpu`, which runs compute shaders on a
//! GPU through Vulkan, Metal or DirectX.
//!
//! `auto` is where care is needed. burn's own `Device::default()` prefers wgpu, and on a machine whose only Vulkan
//! device is a software rasterizer (Mesa's llvmpipe/lavapipe, as on a CI runner) wgpu still "works", about a
//! hundred times slower than `flex` on a 512x512 matmul. So `auto` takes wgpu only when the adapter is a real
//! card, and otherwise says why it fell back to the CPU.

use std::fmt;
use std::str::FromStr;

use burn::tensor::{Device, DeviceKind, DeviceType};

/// The device a user asks for, on the command line (`--device`) or in the `LLM_DEVICE` environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// burn's `flex` backend: pure Rust, multi-threaded, SIMD.
    Cpu,
    /// burn's `wgpu` backend on wgpu's preferred adapter, even a software one.
    Wgpu,
    /// wgpu on a real GPU if there is one, otherwise the CPU.
    #[default]
    Auto,
}

impl DeviceChoice {
    /// The environment variable read by [`DeviceChoice::from_env`].
    pub const ENV_VAR: &'static str = "LLM_DEVICE";

    /// The choice named in `LLM_DEVICE`, or `auto` when it is unset.
    pub fn from_env() -> Result<Self, DeviceError> {
        match std::env::var(Self::ENV_VAR) {
            Ok(value) => value.parse(),
            Err(_) => Ok(Self::Auto),
        }
    }
}

impl FromStr for DeviceChoice {
    type Err = DeviceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cpu" | "flex" => Ok(Self::Cpu),
            "wgpu" | "gpu" => Ok(Self::Wgpu),
            "auto" => Ok(Self::Auto),
            _ => Err(DeviceError::UnknownChoice(s.to_string())),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cpu => "cpu",
            Self::Wgpu => "wgpu",
            Self::Auto => "auto",
        })
    }
}

/// Why no device could be chosen.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeviceError {
    #[error("unknown device {0:?}: use one of cpu, wgpu, auto")]
    UnknownChoice(String),
    #[error(
        "--device wgpu was asked for but wgpu finds no adapter on this machine; install a Vulkan driver \
         (a GPU's, or Mesa's software one: `apt-get install mesa-vulkan-drivers`) or use --device cpu"
    )]
    NoWgpuAdapter,
}

/// A device together with a one-line account of what it is and why it was picked.
#[derive(Clone)]
pub struct SelectedDevice {
    pub device: Device,
    pub description: String,
}

impl fmt::Debug for SelectedDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}

/// Turns a [`DeviceChoice`] into a burn [`Device`] (without autodiff; call `.autodiff()` to train).
pub fn select_device(choice: DeviceChoice) -> Result<SelectedDevice, DeviceError> {
    match choice {
        DeviceChoice::Cpu => Ok(cpu("cpu (flex), as asked".into())),
        DeviceChoice::Wgpu => {
            let adapter = wgpu_adapters().into_iter().next().ok_or(DeviceError::NoWgpuAdapter)?;
            Ok(SelectedDevice {
                description: format!("wgpu on {}, as asked", adapter.describe()),
                device: Device::wgpu(DeviceKind::DefaultDevice),
            })
        }
        DeviceChoice::Auto => {
            let adapters = wgpu_adapters();
            match adapters.iter().find(|adapter| adapter.is_real_gpu) {
                Some(gpu) => Ok(SelectedDevice {
                    description: format!("wgpu on {} (auto: a real GPU was found)", gpu.describe()),
                    device: gpu.device.clone(),
                }),
                None => Ok(cpu(match adapters.first() {
                    Some(software) => format!(
                        "cpu (flex) (auto: wgpu's only adapter is {}, far slower than flex; \
                         pass --device wgpu to use it anyway)",
                        software.describe()
                    ),
                    None => "cpu (flex) (auto: wgpu finds no adapter)".into(),
                })),
            }
        }
    }
}

/// Both backends this project builds in, named, for tests that check the CPU and the GPU backend agree.
///
/// wgpu is taken on whatever adapter it finds, a software one included: on a machine without a GPU, Mesa's
/// lavapipe still runs every kernel, so the wgpu code path is really tested.
///
/// # Panics
/// If wgpu finds no adapter at all, with the fix: install a Vulkan driver (`apt-get install mesa-vulkan-drivers`).
pub fn every_backend() -> Vec<(&'static str, Device)> {
    let wgpu = select_device(DeviceChoice::Wgpu).unwrap_or_else(|err| panic!("{err}"));
    vec![("flex", Device::flex()), ("wgpu", wgpu.device)]
}

fn cpu(description: String) -> SelectedDevice {
    SelectedDevice {
        device: Device::flex(),
        description,
    }
}

/// One wgpu adapter as burn sees it.
struct WgpuAdapter {
    device: Device,
    name: String,
    /// burn reports a physical card (PCI address, vendor) for real GPUs and none for CPUs and software
    /// rasterizers such as llvmpipe.
    is_real_gpu: bool,
}

impl WgpuAdapter {
    fn describe(&self) -> String {
        let kind = if self.is_real_gpu { "GPU" } else { "software adapter" };
        format!("{} [{kind}]", self.name)
    }
}

/// Every adapter wgpu enumerates, real GPUs first as wgpu orders them. Empty when there is no driver.
fn wgpu_adapters() -> Vec<WgpuAdapter> {
    // Enumeration opens the Vulkan loader; a machine with no loader at all makes some drivers panic instead of
    // returning nothing, which for us simply means "no adapter".
    std::panic::catch_unwind(|| {
        Device::enumerate(DeviceType::Wgpu)
            .into_vec()
            .into_iter()
            .filter_map(|device| {
                let identity = device.identity()?;
                Some(WgpuAdapter {
                    is_real_gpu: identity.physical.is_some(),
                    name: identity.name,
                    device,
                })
            })
            .collect()
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse_from_their_names_in_any_case() {
        assert_eq!("cpu".parse(), Ok(DeviceChoice::Cpu));
        assert_eq!("WGPU".parse(), Ok(DeviceChoice::Wgpu));
        assert_eq!(" auto ".parse(), Ok(DeviceChoice::Auto));
        for choice in [DeviceChoice::Cpu, DeviceChoice::Wgpu, DeviceChoice::Auto] {
            assert_eq!(choice.to_string().parse(), Ok(choice));
        }
    }

    #[test]
    fn an_unknown_choice_names_the_valid_ones() {
        let err = "tpu".parse::<DeviceChoice>().unwrap_err();
        assert_eq!(err.to_string(), "unknown device \"tpu\": use one of cpu, wgpu, auto");
    }

    #[test]
    fn cpu_is_always_available_and_computes() {
        let selected = select_device(DeviceChoice::Cpu).unwrap();
        let x = burn::tensor::Tensor::<1>::from_floats([1.0, 2.0, 3.0], &selected.device);
        assert_eq!(x.sum().into_scalar::<f32>(), 6.0);
    }

    #[test]
    fn auto_never_picks_a_software_adapter() {
        let selected = select_device(DeviceChoice::Auto).unwrap();
        let software_only = wgpu_adapters().iter().all(|adapter| !adapter.is_real_gpu);
        if software_only {
            assert!(
                selected.description.starts_with("cpu (flex) (auto"),
                "{}",
                selected.description
            );
        } else {
            assert!(selected.description.starts_with("wgpu on"), "{}", selected.description);
        }
    }
}
