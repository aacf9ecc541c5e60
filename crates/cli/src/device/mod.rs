//! `--device`: which backend, and which device of it, a command computes on.
//!
//! A request (`auto`, `cpu`, `cuda[:N]`, `wgpu[:N]`) is resolved against the hardware before
//! any tensor exists: a missing driver or adapter is a clear error here, never a panic in a
//! backend's device thread later. [`with_backend!`] then runs generic code on the chosen
//! backend.

#[cfg(feature = "cuda")]
mod cuda;
#[cfg(any(feature = "cuda", feature = "wgpu"))]
mod guarded;
#[cfg(feature = "wgpu")]
mod wgpu_adapters;

use std::fmt;
use std::str::FromStr;

use crate::UserError;
use crate::args::DeviceArgs;

/// A parsed `--device` value, before the hardware is consulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceRequest {
    /// CUDA if a driver and a device are there, else a hardware wgpu adapter, else the CPU.
    Auto,
    /// The flex CPU backend.
    Cpu,
    /// The CUDA device with this ordinal.
    Cuda(usize),
    /// A Vulkan adapter by its position in `wgan devices`; `None` prefers hardware.
    Wgpu(Option<usize>),
}

impl FromStr for DeviceRequest {
    type Err = UserError;

    fn from_str(text: &str) -> Result<Self, UserError> {
        let (name, index) = match text.split_once(':') {
            Some((name, index)) => {
                let index = index.parse::<usize>().map_err(|_| {
                    UserError(format!(
                        "--device {text}: the device index must be a number, as in {name}:0"
                    ))
                })?;
                (name, Some(index))
            }
            None => (text, None),
        };
        match (name, index) {
            ("auto", None) => Ok(Self::Auto),
            ("cpu", None) => Ok(Self::Cpu),
            ("cuda", index) => Ok(Self::Cuda(index.unwrap_or(0))),
            ("wgpu", index) => Ok(Self::Wgpu(index)),
            ("auto" | "cpu", Some(_)) => Err(UserError(format!("--device {text}: {name} takes no index"))),
            _ => Err(UserError(format!(
                "--device {text}: unknown device; use auto, cpu, cuda[:N] or wgpu[:N]"
            ))),
        }
    }
}

impl fmt::Display for DeviceRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => write!(f, "auto"),
            Self::Cpu => write!(f, "cpu"),
            Self::Cuda(index) => write!(f, "cuda:{index}"),
            Self::Wgpu(None) => write!(f, "wgpu"),
            Self::Wgpu(Some(index)) => write!(f, "wgpu:{index}"),
        }
    }
}

/// A device that was found, with the backend that computes on it.
#[derive(Debug, Clone)]
pub enum ComputeDevice {
    /// flex on the host's cores.
    Cpu,
    /// A CUDA device.
    #[cfg(feature = "cuda")]
    Cuda {
        /// Device ordinal.
        index: usize,
        /// As the driver names it.
        name: String,
    },
    /// A wgpu (Vulkan) adapter.
    #[cfg(feature = "wgpu")]
    Wgpu {
        /// Position among the Vulkan adapters, as `wgan devices` lists them.
        index: usize,
        /// Name and kind of the adapter.
        adapter: wgpu_adapters::Adapter,
        /// burn's handle for it.
        device: burn::backend::wgpu::WgpuDevice,
    },
}

impl fmt::Display for ComputeDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cpu => write!(f, "cpu (flex)"),
            #[cfg(feature = "cuda")]
            Self::Cuda { index, name } => write!(f, "cuda:{index} ({name})"),
            #[cfg(feature = "wgpu")]
            Self::Wgpu { index, adapter, .. } => write!(f, "wgpu:{index} ({adapter})"),
        }
    }
}

/// Finds the devices of a data-parallel run, one per replica, all of one backend, and says
/// on stderr which ones compute. One request is [`select`].
pub fn select_replicas(requests: &[DeviceRequest]) -> anyhow::Result<Vec<ComputeDevice>> {
    if let [request] = requests {
        return Ok(vec![select(DeviceArgs { request: *request })?]);
    }
    let mut devices = Vec::with_capacity(requests.len());
    for request in requests {
        let (device, _) = resolve(*request).map_err(|reason| UserError(format!("--devices {request}: {reason}")))?;
        devices.push(device);
    }
    let names: Vec<String> = devices.iter().map(ToString::to_string).collect();
    let kind = |device: &ComputeDevice| std::mem::discriminant(device);
    if devices.iter().any(|device| kind(device) != kind(&devices[0])) {
        return Err(UserError(format!(
            "--devices: every replica must be on the same backend, got {}",
            names.join(", ")
        ))
        .into());
    }
    eprintln!("devices: {} (one replica each)", names.join(", "));
    Ok(devices)
}

/// Finds the device `--device` asked for and says on stderr which one computes.
pub fn select(args: DeviceArgs) -> anyhow::Result<ComputeDevice> {
    let request = args.request;
    let (device, skipped) = resolve(request).map_err(|reason| UserError(format!("--device {request}: {reason}")))?;
    match skipped.is_empty() {
        true => eprintln!("device: {device}"),
        false => eprintln!("device: {device} (auto: {})", skipped.join("; ")),
    }
    Ok(device)
}

/// The device `request` names, and for `auto` why each better choice was passed over; or why
/// the device cannot be used.
fn resolve(request: DeviceRequest) -> Result<(ComputeDevice, Vec<String>), String> {
    match request {
        DeviceRequest::Cpu => Ok((ComputeDevice::Cpu, Vec::new())),
        DeviceRequest::Cuda(index) => Ok((cuda_device(index)?, Vec::new())),
        DeviceRequest::Wgpu(index) => Ok((wgpu_device(index, false)?, Vec::new())),
        DeviceRequest::Auto => {
            let mut skipped = Vec::new();
            match cuda_device(0) {
                Ok(device) => return Ok((device, skipped)),
                Err(reason) => skipped.push(format!("no CUDA: {reason}")),
            }
            match wgpu_device(None, true) {
                Ok(device) => return Ok((device, skipped)),
                Err(reason) => skipped.push(format!("no hardware wgpu adapter: {reason}")),
            }
            Ok((ComputeDevice::Cpu, skipped))
        }
    }
}

#[cfg(feature = "cuda")]
fn cuda_device(index: usize) -> Result<ComputeDevice, String> {
    let names = cuda::device_names()?;
    match names.get(index) {
        Some(name) => Ok(ComputeDevice::Cuda {
            index,
            name: name.clone(),
        }),
        None => Err(format!(
            "the driver reports {} CUDA device(s): {}",
            names.len(),
            inline_list(numbered("cuda", &names))
        )),
    }
}

#[cfg(not(feature = "cuda"))]
fn cuda_device(_index: usize) -> Result<ComputeDevice, String> {
    Err("this build has no CUDA backend (build with the `cuda` feature)".into())
}

/// The wgpu adapter at `index`, or without one the first hardware adapter, else (unless
/// `hardware_only`) the first adapter of any kind.
#[cfg(feature = "wgpu")]
fn wgpu_device(index: Option<usize>, hardware_only: bool) -> Result<ComputeDevice, String> {
    let adapters = wgpu_adapters::adapters()?;
    let listing = || inline_list(numbered("wgpu", &adapters));
    let chosen = match index {
        Some(index) => adapters
            .get(index)
            .map(|_| index)
            .ok_or_else(|| format!("there are {} wgpu adapter(s): {}", adapters.len(), listing()))?,
        None => adapters
            .iter()
            .position(wgpu_adapters::Adapter::is_hardware)
            .or_else(|| (!hardware_only && !adapters.is_empty()).then_some(0))
            .ok_or_else(|| match adapters.is_empty() {
                true => "no Vulkan adapter found".to_string(),
                false => format!("only software adapters: {}", listing()),
            })?,
    };
    let device = wgpu_adapters::burn_device(&adapters, chosen)?;
    Ok(ComputeDevice::Wgpu {
        index: chosen,
        adapter: adapters[chosen].clone(),
        device,
    })
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_device(_index: Option<usize>, _hardware_only: bool) -> Result<ComputeDevice, String> {
    Err("this build has no wgpu backend (build with the `wgpu` feature)".into())
}

/// `["cuda:0 (A)", "cuda:1 (B)"]`: each device with its index.
#[cfg(any(feature = "cuda", feature = "wgpu"))]
fn numbered(prefix: &str, items: &[impl fmt::Display]) -> Vec<String> {
    items
        .iter()
        .enumerate()
        .map(|(index, item)| format!("{prefix}:{index} ({item})"))
        .collect()
}

/// `a, b, c` for an error message, or `none`.
#[cfg(any(feature = "cuda", feature = "wgpu"))]
fn inline_list(lines: Vec<String>) -> String {
    if lines.is_empty() {
        "none".into()
    } else {
        lines.join(", ")
    }
}

/// Every device this build can compute on, one per line, for `wgan devices`.
pub fn listing() -> Vec<String> {
    let mut lines = vec!["cpu (flex)".to_string()];
    #[cfg(feature = "cuda")]
    match cuda::device_names() {
        Ok(names) if names.is_empty() => lines.push("cuda: the driver reports no devices".into()),
        Ok(names) => lines.extend(numbered("cuda", &names)),
        Err(reason) => lines.push(format!("cuda: {reason}")),
    }
    #[cfg(not(feature = "cuda"))]
    lines.push("cuda: not in this build".into());
    #[cfg(feature = "wgpu")]
    match wgpu_adapters::adapters() {
        Ok(adapters) if adapters.is_empty() => lines.push("wgpu: no Vulkan adapter found".into()),
        Ok(adapters) => lines.extend(numbered("wgpu", &adapters)),
        Err(reason) => lines.push(format!("wgpu: {reason}")),
    }
    #[cfg(not(feature = "wgpu"))]
    lines.push("wgpu: not in this build".into());
    lines
}

/// Runs `$body` with `$backend` bound to the autodiff backend of `$device` (a
/// [`ComputeDevice`]) and `$handle` to burn's device value for it. Code that does not train
/// uses `<$backend as AutodiffBackend>::InnerBackend`.
macro_rules! with_backend {
    ($device:expr, |$backend:ident, $handle:ident| $body:expr) => {
        match $device {
            $crate::device::ComputeDevice::Cpu => {
                type $backend = burn::backend::Autodiff<burn::backend::Flex>;
                let $handle: burn::tensor::Device<$backend> = Default::default();
                $body
            }
            #[cfg(feature = "cuda")]
            $crate::device::ComputeDevice::Cuda { index, .. } => {
                type $backend = burn::backend::Autodiff<burn::backend::Cuda>;
                let $handle = burn::backend::cuda::CudaDevice::new(*index);
                $body
            }
            #[cfg(feature = "wgpu")]
            $crate::device::ComputeDevice::Wgpu { device, .. } => {
                type $backend = burn::backend::Autodiff<burn::backend::Wgpu>;
                let $handle: burn::backend::wgpu::WgpuDevice = device.clone();
                $body
            }
        }
    };
}
pub(crate) use with_backend;

/// Like [`with_backend!`] for several devices of one backend (see [`select_replicas`]):
/// runs `$body` with `$backend` the autodiff backend and `$handles` burn's handle of each
/// device, in order.
macro_rules! with_backend_devices {
    ($devices:expr, |$backend:ident, $handles:ident| $body:expr) => {{
        let devices: &[$crate::device::ComputeDevice] = $devices;
        match devices.first() {
            None | Some($crate::device::ComputeDevice::Cpu) => {
                type $backend = burn::backend::Autodiff<burn::backend::Flex>;
                let $handles: Vec<burn::tensor::Device<$backend>> =
                    devices.iter().map(|_| Default::default()).collect();
                $body
            }
            #[cfg(feature = "cuda")]
            Some($crate::device::ComputeDevice::Cuda { .. }) => {
                type $backend = burn::backend::Autodiff<burn::backend::Cuda>;
                let $handles: Vec<burn::backend::cuda::CudaDevice> = devices
                    .iter()
                    .filter_map(|device| match device {
                        $crate::device::ComputeDevice::Cuda { index, .. } => {
                            Some(burn::backend::cuda::CudaDevice::new(*index))
                        }
                        _ => None,
                    })
                    .collect();
                $body
            }
            #[cfg(feature = "wgpu")]
            Some($crate::device::ComputeDevice::Wgpu { .. }) => {
                type $backend = burn::backend::Autodiff<burn::backend::Wgpu>;
                let $handles: Vec<burn::backend::wgpu::WgpuDevice> = devices
                    .iter()
                    .filter_map(|device| match device {
                        $crate::device::ComputeDevice::Wgpu { device, .. } => Some(device.clone()),
                        _ => None,
                    })
                    .collect();
                $body
            }
        }
    }};
}
pub(crate) use with_backend_devices;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_of_device() {
        let parse = |text: &str| text.parse::<DeviceRequest>().map_err(|err| err.0);
        assert_eq!(parse("auto"), Ok(DeviceRequest::Auto));
        assert_eq!(parse("cpu"), Ok(DeviceRequest::Cpu));
        assert_eq!(parse("cuda"), Ok(DeviceRequest::Cuda(0)));
        assert_eq!(parse("cuda:3"), Ok(DeviceRequest::Cuda(3)));
        assert_eq!(parse("wgpu"), Ok(DeviceRequest::Wgpu(None)));
        assert_eq!(parse("wgpu:1"), Ok(DeviceRequest::Wgpu(Some(1))));
        for bad in ["gpu", "cuda:x", "cuda:-1", "cpu:0", "auto:1", "", "wgpu:"] {
            let err = parse(bad).expect_err(bad);
            assert!(err.starts_with(&format!("--device {bad}:")), "{bad}: {err}");
        }
    }

    #[test]
    fn cpu_is_always_there() {
        let (device, skipped) = resolve(DeviceRequest::Cpu).expect("cpu");
        assert!(matches!(device, ComputeDevice::Cpu));
        assert!(skipped.is_empty());
        assert_eq!(device.to_string(), "cpu (flex)");
    }
}
