//! The wgpu backend trains like the CPU backend: two generator steps (ten critic steps, the
//! gradient penalty or weight clipping included) of both variants at a tiny width give the
//! same losses and the same parameter updates on wgpu as on flex, within [`LOSS_TOLERANCE`]
//! and [`UPDATE_TOLERANCE`].
//!
//! The optimizers' epsilon is raised to 1 so that each update is proportional to its gradient.
//! With the seed's tiny epsilon, Adam and RMSprop move a weight by about the learning rate
//! whatever its gradient's size, and a bias that feeds a BatchNorm has a gradient that is zero
//! in exact arithmetic: its update direction is rounding noise, different on each backend.
//!
//! It needs a Vulkan adapter; without a GPU, Mesa's software one (Debian's
//! `mesa-vulkan-drivers`, which `.ci/run` installs) serves. The first run compiles the
//! kernels (a minute or so on two cores; cached in `~/.cache/cubecl` after that). cubecl's
//! autotune picks each kernel by timing it, so the kernels, and the order of their sums,
//! differ between processes; the tests take the device one at a time, so that neither
//! times its kernels against the other's load.

mod common;

use burn::backend::wgpu::WgpuDevice;
use burn::backend::{Autodiff, Flex, Wgpu};
use burn::tensor::Tensor;
use burn::tensor::TensorData;
use burn::tensor::backend::AutodiffBackend;
use common::{distinct_images, snapshot};
use std::sync::{Mutex, MutexGuard};
use wgan_model::Variant;
use wgan_ops::upsample_bilinear_2x;
use wgan_train::{Engine, LipschitzConstraint, OptimizerConfig, RunConfig, TrainStepMetrics};

/// Largest difference allowed between the backends' losses, relative to the loss's size
/// (floor 1): the same arithmetic in a different summation order, compounded over ten
/// optimizer steps. Most runs agree to 1e-7; one run on Mesa's llvmpipe, with other kernels
/// chosen by autotune, differed by 1.1e-4 at the second step. A wrong gradient or penalty
/// moves them by far more.
const LOSS_TOLERANCE: f64 = 1e-3;

/// Largest difference allowed between the backends' values of a tensor after the steps, as a
/// fraction of the largest update training made to that tensor: the backends agree on each
/// tensor's updates to 1 %.
const UPDATE_TOLERANCE: f64 = 0.01;

/// Differences up to this are rounding whatever the update (16 float32 ulps at 1).
const ROUNDING_FLOOR: f64 = 1e-6;

const GENERATOR_STEPS: usize = 2;

fn config(variant: Variant) -> RunConfig {
    let mut config = common::small_config(variant, 5, 8, 16, 8);
    config.schedule.steps = GENERATOR_STEPS as u64;
    for optimizer in [&mut config.optimizer.critic, &mut config.optimizer.generator] {
        *optimizer = match *optimizer {
            OptimizerConfig::Adam { beta1, beta2, .. } => OptimizerConfig::Adam {
                learning_rate: 0.01,
                beta1,
                beta2,
                epsilon: 1.0,
            },
            OptimizerConfig::RmsProp { alpha, .. } => OptimizerConfig::RmsProp {
                learning_rate: 0.01,
                alpha,
                epsilon: 1.0,
            },
        };
    }
    config
}

/// The metrics of each generator step, and the networks before and after.
struct Trained {
    metrics: Vec<TrainStepMetrics>,
    /// The parameters training started from: the initial generator's, and the initial
    /// critic's as the first update sees them (clipped, under weight clipping).
    start: Vec<TensorData>,
    trained: Vec<TensorData>,
}

/// Serialises the tests' use of the wgpu device.
static WGPU_DEVICE: Mutex<()> = Mutex::new(());

fn take_wgpu_device() -> MutexGuard<'static, ()> {
    WGPU_DEVICE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn train<B: AutodiffBackend>(variant: Variant, device: B::Device) -> Trained {
    let config = config(variant);
    let clip_value = match config.lipschitz {
        LipschitzConstraint::WeightClip { clip_value } => Some(clip_value),
        _ => None,
    };
    let mut engine = Engine::<B>::new(config, distinct_images(), device).unwrap();
    let (generator, critic) = snapshot(&engine);
    // Clipping the initial critic is not training: its largest move (a BatchNorm scale from 1 to
    // the clip value) would dwarf every update, and both backends make it exactly.
    let critic = match clip_value {
        Some(clip_value) => critic.iter().map(|tensor| clipped(tensor, clip_value as f32)).collect(),
        None => critic,
    };
    let metrics = (0..GENERATOR_STEPS).map(|_| engine.train_step().unwrap()).collect();
    let (trained_generator, trained_critic) = snapshot(&engine);
    Trained {
        metrics,
        start: [generator, critic].concat(),
        trained: [trained_generator, trained_critic].concat(),
    }
}

fn clipped(tensor: &TensorData, clip_value: f32) -> TensorData {
    let values: Vec<f32> = tensor.to_vec::<f32>().unwrap();
    let values: Vec<f32> = values.into_iter().map(|x| x.clamp(-clip_value, clip_value)).collect();
    TensorData::new(values, tensor.shape.clone())
}

/// Largest |a − b| over matching tensors.
fn largest_difference(a: &[TensorData], b: &[TensorData]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .flat_map(|(a, b)| {
            assert_eq!(a.shape, b.shape);
            let (a, b) = (a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
            a.into_iter()
                .zip(b)
                .map(|(x, y)| f64::from((x - y).abs()))
                .collect::<Vec<_>>()
        })
        .fold(0.0, f64::max)
}

fn require_vulkan_adapter() {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::VULKAN,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapters = futures_lite::future::block_on(instance.enumerate_adapters(wgpu::Backends::VULKAN));
    assert!(
        !adapters.is_empty(),
        "no Vulkan adapter: install Debian's mesa-vulkan-drivers (a software adapter) to test the wgpu backend"
    );
    eprintln!("wgpu adapter: {}", adapters[0].get_info().name);
}

#[test]
fn wgpu_training_steps_agree_with_the_cpu_backend() {
    require_vulkan_adapter();
    let _device = take_wgpu_device();
    for variant in [Variant::WganGp, Variant::Wgan] {
        let cpu = train::<Autodiff<Flex>>(variant, Default::default());
        let gpu = train::<Autodiff<Wgpu>>(variant, WgpuDevice::DefaultDevice);
        for (a, b) in cpu.metrics.iter().zip(&gpu.metrics) {
            let pairs = [
                ("critic_loss", a.critic_loss, b.critic_loss),
                ("generator_loss", a.generator_loss, b.generator_loss),
                ("wasserstein_estimate", a.wasserstein_estimate, b.wasserstein_estimate),
                (
                    "gradient_penalty",
                    a.gradient_penalty.unwrap_or(0.0),
                    b.gradient_penalty.unwrap_or(0.0),
                ),
            ];
            for (name, x, y) in pairs {
                let relative = (x - y).abs() / x.abs().max(1.0);
                eprintln!(
                    "{variant:?} step {}: {name} cpu {x:.7} wgpu {y:.7} (relative difference {relative:.1e})",
                    a.step
                );
                assert!(
                    x.is_finite() && relative <= LOSS_TOLERANCE,
                    "{variant:?} step {}: {name}",
                    a.step
                );
            }
        }
        assert_eq!(gpu.metrics.len(), GENERATOR_STEPS);
        assert_eq!(largest_difference(&cpu.start, &gpu.start), 0.0, "same initial weights");
        assert!(
            largest_difference(&cpu.start, &cpu.trained) > 0.0,
            "{variant:?}: training moved nothing"
        );
        for (index, ((start, cpu), gpu)) in cpu.start.iter().zip(&cpu.trained).zip(&gpu.trained).enumerate() {
            let update = largest_difference(std::slice::from_ref(start), std::slice::from_ref(cpu));
            let difference = largest_difference(std::slice::from_ref(cpu), std::slice::from_ref(gpu));
            eprintln!(
                "{variant:?} tensor {index} {:?}: updated by up to {update:.2e}; the backends differ by up to {difference:.2e}",
                cpu.shape
            );
            assert!(
                difference <= (UPDATE_TOLERANCE * update).max(ROUNDING_FLOOR),
                "{variant:?} tensor {index}: the backends are {difference:.3e} apart after updates of up to {update:.3e}"
            );
        }
    }
}

/// Bilinear upsampling on wgpu equals the CPU's on the generator's shapes. `[8, 8, 8, 8]`
/// widens rows with a `[512, 8] · [8, 16]` product, one of the shapes where cubecl's matmul
/// with a transposed right-hand side returned wrong pixels on Mesa's llvmpipe (off by up to
/// 1 on values in [−1, 1]) before the interpolation matrices were laid out contiguously.
#[test]
fn wgpu_upsampling_agrees_with_the_cpu_backend() {
    require_vulkan_adapter();
    let _device = take_wgpu_device();
    for shape in [[8, 16, 4, 4], [8, 8, 8, 8], [64, 1, 8, 8], [2, 3, 5, 7]] {
        let count: usize = shape.iter().product();
        let values: Vec<f32> = (0..count).map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0).collect();
        let data = TensorData::new(values, shape);
        let cpu = upsample_bilinear_2x(Tensor::<Flex, 4>::from_data(data.clone(), &Default::default()));
        let gpu = upsample_bilinear_2x(Tensor::<Wgpu, 4>::from_data(data, &WgpuDevice::DefaultDevice));
        let difference = largest_difference(&[cpu.into_data()], &[gpu.into_data()]);
        assert!(
            difference <= 1e-6,
            "{shape:?}: wgpu differs from the CPU by {difference:.2e}"
        );
    }
}
