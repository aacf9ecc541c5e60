//! Listing the Vulkan adapters wgpu can use, and naming one the way burn's wgpu backend does.

use std::fmt;

use ::wgpu::DeviceType;
use burn::backend::wgpu::WgpuDevice;

use super::guarded;

/// One Vulkan adapter.
#[derive(Debug, Clone)]
pub struct Adapter {
    /// The device name, e.g. "NVIDIA H100 80GB HBM3" or "llvmpipe (LLVM 15.0.6, 256 bits)".
    pub name: String,
    /// Discrete, integrated, virtual, CPU (a software rasteriser) or other.
    pub kind: DeviceType,
}

impl Adapter {
    /// A GPU rather than a software implementation on the CPU.
    pub fn is_hardware(&self) -> bool {
        matches!(
            self.kind,
            DeviceType::DiscreteGpu | DeviceType::IntegratedGpu | DeviceType::VirtualGpu
        )
    }
}

/// burn's device value for `all[index]`. burn counts adapters per kind, in the order wgpu
/// enumerates them, so `DiscreteGpu(1)` is the second discrete GPU.
pub fn burn_device(all: &[Adapter], index: usize) -> Result<WgpuDevice, String> {
    let adapter = all.get(index).ok_or_else(|| format!("there is no adapter {index}"))?;
    let rank = all[..index]
        .iter()
        .filter(|earlier| earlier.kind == adapter.kind)
        .count();
    match adapter.kind {
        DeviceType::DiscreteGpu => Ok(WgpuDevice::DiscreteGpu(rank)),
        DeviceType::IntegratedGpu => Ok(WgpuDevice::IntegratedGpu(rank)),
        DeviceType::VirtualGpu => Ok(WgpuDevice::VirtualGpu(rank)),
        DeviceType::Cpu if rank == 0 => Ok(WgpuDevice::Cpu),
        DeviceType::Cpu => Err(format!(
            "{} is a second software adapter, which burn cannot select",
            adapter.name
        )),
        DeviceType::Other => Err(format!(
            "{} is of an unknown kind, which burn cannot select",
            adapter.name
        )),
    }
}

impl fmt::Display for Adapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            DeviceType::DiscreteGpu => "discrete GPU",
            DeviceType::IntegratedGpu => "integrated GPU",
            DeviceType::VirtualGpu => "virtual GPU",
            DeviceType::Cpu => "software, on the CPU",
            DeviceType::Other => "unknown kind",
        };
        write!(f, "{}, Vulkan, {kind}", self.name)
    }
}

/// The Vulkan adapters in wgpu's order (the order burn selects from), or why none can be
/// listed. Without a Vulkan loader the list is empty.
pub fn adapters() -> Result<Vec<Adapter>, String> {
    guarded::probe("the Vulkan driver", || {
        let instance = ::wgpu::Instance::new(::wgpu::InstanceDescriptor {
            backends: ::wgpu::Backends::VULKAN,
            ..::wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let adapters = futures_lite::future::block_on(instance.enumerate_adapters(::wgpu::Backends::VULKAN));
        Ok(adapters
            .iter()
            .map(|adapter| {
                let info = adapter.get_info();
                Adapter {
                    name: info.name,
                    kind: info.device_type,
                }
            })
            .collect())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(name: &str, kind: DeviceType) -> Adapter {
        Adapter {
            name: name.into(),
            kind,
        }
    }

    #[test]
    fn adapters_are_counted_per_kind() {
        let all = [
            adapter("llvmpipe", DeviceType::Cpu),
            adapter("GPU A", DeviceType::DiscreteGpu),
            adapter("iGPU", DeviceType::IntegratedGpu),
            adapter("GPU A", DeviceType::DiscreteGpu),
        ];
        let devices: Vec<_> = (0..all.len()).map(|index| burn_device(&all, index)).collect();
        assert_eq!(
            devices,
            [
                Ok(WgpuDevice::Cpu),
                Ok(WgpuDevice::DiscreteGpu(0)),
                Ok(WgpuDevice::IntegratedGpu(0)),
                Ok(WgpuDevice::DiscreteGpu(1)),
            ]
        );
        assert!(all[1].is_hardware() && !all[0].is_hardware());
    }
}
