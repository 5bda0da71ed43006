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

use burn::tensor::{Device, Tensor};

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
    #[error(
        "--device wgpu was asked for but this build has no wgpu backend: add `--features wgpu` to the cargo \
         command that builds it (`cargo run --release -p gpt --features wgpu -- ...`; a notebook adds \
         `features = [\"wgpu\"]` to its `:dep common` line), or use --device cpu"
    )]
    WgpuNotBuilt,
}

/// The device failed while computing (on a GPU: out of memory, or a buffer larger than the adapter allows).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the device failed ({cause}). On a GPU the model may need more memory than the device has, or buffers larger \
     than the adapter allows (software adapters such as llvmpipe allow smaller ones): use a smaller model or batch, \
     or the CPU"
)]
pub struct DeviceFailed {
    /// The innermost cause of burn's report.
    pub cause: String,
}

impl DeviceFailed {
    /// A device failure from burn's report, which lists every operation it skipped: only its innermost cause.
    pub fn from_report(report: &str) -> Self {
        let lines: Vec<&str> = report.lines().map(str::trim).collect();
        let innermost = lines.iter().rposition(|line| *line == "Caused by:");
        let cause = innermost
            .and_then(|i| lines.get(i + 1))
            .or(lines.first())
            .copied()
            .unwrap_or("unknown error");
        DeviceFailed {
            cause: cause.to_string(),
        }
    }
}

/// Scalars computed on the device (losses), read in one transfer: one wait for the device, however many. A
/// device that failed while computing them is a [`DeviceFailed`] error instead of a panic.
pub fn read_scalars(values: Vec<Tensor<1>>) -> Result<Vec<f32>, DeviceFailed> {
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let data = Tensor::cat(values, 0)
        .try_into_data()
        .map_err(|e| DeviceFailed::from_report(&e.to_string()))?;
    Ok(data.iter::<f32>().collect())
}

/// A device together with a one-line account of what it is and why it was picked.
#[derive(Clone)]
pub struct SelectedDevice {
    pub device: Device,
    pub description: String,
}

impl SelectedDevice {
    /// Makes this device burn's default for the rest of the process, when it is the CPU: burn creates some tensors
    /// on its default device, which prefers wgpu (an optimizer's state read from a checkpoint, moved to the
    /// parameters' device only at the next step), and would start the GPU driver in a run asked to stay on the
    /// CPU. It sets `BURN_DEVICE`, which burn reads each time: call it from a program's `main`, before the program
    /// starts threads.
    pub fn make_default(&self) {
        if self.device == Device::flex() {
            // SAFETY: changing the environment races with threads reading it; the caller has started none.
            unsafe { std::env::set_var("BURN_DEVICE", "flex") };
        }
    }
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
        DeviceChoice::Wgpu => gpu::asked(),
        DeviceChoice::Auto => Ok(gpu::real_gpu().unwrap_or_else(|why| cpu(format!("cpu (flex) (auto: {why})")))),
    }
}

/// Both backends this project builds in, named, for tests that check the CPU and the GPU backend agree.
///
/// wgpu is taken on whatever adapter it finds, a software one included: on a machine without a GPU, Mesa's
/// lavapipe still runs every kernel, so the wgpu code path is really tested.
///
/// # Panics
/// If wgpu finds no adapter at all, with the fix: install a Vulkan driver (`apt-get install mesa-vulkan-drivers`);
/// or if this build has no wgpu backend (the `wgpu` feature, which `cargo test --workspace --all-features` turns
/// on).
pub fn every_backend() -> Vec<(&'static str, Device)> {
    let wgpu = gpu::asked().unwrap_or_else(|err| match err {
        DeviceError::WgpuNotBuilt => panic!(
            "this test compares the CPU and GPU backends, and this build has no wgpu backend: run the tests with \
             `cargo test --workspace --all-features` (or add `--features wgpu`)"
        ),
        err => panic!("{err}"),
    });
    vec![("flex", Device::flex()), ("wgpu", wgpu.device)]
}

fn cpu(description: String) -> SelectedDevice {
    SelectedDevice {
        device: Device::flex(),
        description,
    }
}

/// The wgpu backend, when this build has it (the `wgpu` feature).
#[cfg(feature = "wgpu")]
mod gpu {
    use burn::tensor::{Device, DeviceKind, DeviceType};

    use super::{DeviceError, SelectedDevice};

    /// wgpu on its preferred adapter, whatever it is.
    pub fn asked() -> Result<SelectedDevice, DeviceError> {
        let adapter = adapters().into_iter().next().ok_or(DeviceError::NoWgpuAdapter)?;
        Ok(SelectedDevice {
            description: format!("wgpu on {}, as asked", adapter.describe()),
            device: Device::wgpu(DeviceKind::DefaultDevice),
        })
    }

    /// wgpu on a real GPU, or why there is none to use.
    pub fn real_gpu() -> Result<SelectedDevice, String> {
        let adapters = adapters();
        match adapters.iter().find(|adapter| adapter.is_real_gpu) {
            Some(gpu) => Ok(SelectedDevice {
                description: format!("wgpu on {} (auto: a real GPU was found)", gpu.describe()),
                device: gpu.device.clone(),
            }),
            None => Err(match adapters.first() {
                Some(software) => format!(
                    "wgpu's only adapter is {}, far slower than flex; pass --device wgpu to use it anyway",
                    software.describe()
                ),
                None => "wgpu finds no adapter".into(),
            }),
        }
    }

    /// One wgpu adapter as burn sees it.
    pub struct Adapter {
        device: Device,
        name: String,
        /// burn reports a physical card (PCI address, vendor) for real GPUs and none for CPUs and software
        /// rasterizers such as llvmpipe.
        pub is_real_gpu: bool,
    }

    impl Adapter {
        fn describe(&self) -> String {
            let kind = if self.is_real_gpu { "GPU" } else { "software adapter" };
            format!("{} [{kind}]", self.name)
        }
    }

    /// Every adapter wgpu enumerates, real GPUs first as wgpu orders them. Empty when there is no driver.
    pub fn adapters() -> Vec<Adapter> {
        // Enumeration opens the Vulkan loader; a machine with no loader at all makes some drivers panic instead of
        // returning nothing, which for us simply means "no adapter".
        std::panic::catch_unwind(|| {
            Device::enumerate(DeviceType::Wgpu)
                .into_vec()
                .into_iter()
                .filter_map(|device| {
                    let identity = device.identity()?;
                    Some(Adapter {
                        is_real_gpu: identity.physical.is_some(),
                        name: identity.name,
                        device,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
    }
}

/// A training step that needs more memory than the machine has.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "a training step of this configuration needs about {:.1} GB and this machine has {:.1} GB: lower {lower}",
    *needed as f64 / 1e9,
    *total as f64 / 1e9
)]
pub struct TooLargeForMemory {
    pub needed: u64,
    pub total: u64,
    /// The configuration's fields that shrink it, and why.
    pub lower: &'static str,
}

/// An error, to give before any work, when a training step needing `needed` bytes cannot fit in the machine's
/// memory (where it is known): better than a process the kernel kills once it has taken it all. `lower` names the
/// fields that shrink the step.
pub fn fits_in_memory(needed: u64, lower: &'static str) -> Result<(), TooLargeForMemory> {
    match physical_memory_bytes() {
        Some(total) if needed > total => Err(TooLargeForMemory { needed, total, lower }),
        _ => Ok(()),
    }
}

/// Floats one Transformer layer keeps for its backward pass at one position of a batch, by estimate: about 10
/// vectors of width d (the projections, the attention's output, the norms' inputs and outputs), the feed-forward
/// network's hidden layer of width d_ff twice (before and after its activation), and the attention's three rows
/// of `heads`·t numbers (scores, weights, their dropout), whose t² over the batch is what a long context costs.
pub fn layer_activation_floats(d: usize, d_ff: usize, heads: usize, t: usize) -> u64 {
    10 * d as u64 + 2 * d_ff as u64 + 3 * heads as u64 * t as u64
}

/// The machine's memory in bytes (Linux's `MemTotal`); `None` elsewhere.
pub fn physical_memory_bytes() -> Option<u64> {
    proc_kib("/proc/meminfo", "MemTotal:")
}

/// The most resident memory this process has used so far (Linux's `VmHWM`), in bytes; `None` elsewhere.
pub fn peak_memory_bytes() -> Option<u64> {
    proc_kib("/proc/self/status", "VmHWM:")
}

/// The bytes of the `key` line of a Linux `/proc` file that counts in KiB (`MemTotal:   16384 kB`).
fn proc_kib(file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|line| line.starts_with(key))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Mesa's Vulkan drivers print `XDG_RUNTIME_DIR is invalid or not set` once per driver when that variable names
/// no directory (in a container, on a CI runner, under `sudo`): probing for a GPU on such a machine would print it
/// half a dozen times. This gives them a private directory (mode 0700, as the XDG specification asks) instead. It
/// changes the process's environment: call it from a program's `main`, before the program starts threads (the
/// command-line tools do, through [`crate::cli::DeviceArgs::select`]).
pub fn quiet_gpu_probe() {
    #[cfg(feature = "wgpu")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(give_mesa_a_runtime_dir);
    }
}

#[cfg(feature = "wgpu")]
fn give_mesa_a_runtime_dir() {
    let valid = std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|dir| std::path::Path::new(&dir).is_dir());
    if valid {
        return;
    }
    let user = std::env::var("USER").unwrap_or_else(|_| "user".into());
    let dir = std::env::temp_dir().join(format!("llm-from-theory-runtime-{user}"));
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    if builder.recursive(true).create(&dir).is_ok() {
        // SAFETY: called from `main` before any thread starts (see `quiet_gpu_probe`).
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
    }
}

/// A build without the wgpu backend (the default, and a notebook's kernel: either compiles in half the time): `cpu`
/// and `auto` run on flex, `wgpu` says how to get it.
#[cfg(not(feature = "wgpu"))]
mod gpu {
    use super::{DeviceError, SelectedDevice};

    pub fn asked() -> Result<SelectedDevice, DeviceError> {
        Err(DeviceError::WgpuNotBuilt)
    }

    pub fn real_gpu() -> Result<SelectedDevice, String> {
        Err("this build has no wgpu backend".into())
    }
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

    #[cfg(feature = "wgpu")]
    #[test]
    fn auto_never_picks_a_software_adapter() {
        let selected = select_device(DeviceChoice::Auto).unwrap();
        let software_only = gpu::adapters().iter().all(|adapter| !adapter.is_real_gpu);
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
