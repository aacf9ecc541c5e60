//! The wgpu backend trains like the CPU backend: two generator steps (ten critic steps, the
//! gradient penalty or weight clipping included) of both variants at a tiny width give the
//! same losses and the same networks on wgpu as on flex, within [`LOSS_TOLERANCE`] and
//! [`WEIGHT_TOLERANCE`].
//!
//! The optimizers' epsilon is raised to 1 so that each update is proportional to its gradient.
//! With the seed's tiny epsilon, Adam and RMSprop move a weight by about the learning rate
//! whatever its gradient's size, and a bias that feeds a BatchNorm has a gradient that is zero
//! in exact arithmetic: its update direction is rounding noise, different on each backend.
//!
//! It needs a Vulkan adapter; without a GPU, Mesa's software one (Debian's
//! `mesa-vulkan-drivers`, which `.ci/run` installs) serves. The first run compiles the
//! kernels (a minute or so on two cores; cached in `~/.cache/cubecl` after that).

mod common;

use burn::backend::wgpu::WgpuDevice;
use burn::backend::{Autodiff, Flex, Wgpu};
use burn::tensor::Tensor;
use burn::tensor::TensorData;
use burn::tensor::backend::AutodiffBackend;
use common::{distinct_images, snapshot};
use wgan_model::Variant;
use wgan_ops::upsample_bilinear_2x;
use wgan_train::{Engine, OptimizerConfig, RunConfig, TrainStepMetrics};

/// Largest difference allowed between the backends' losses, relative to the loss's size
/// (floor 1): the same arithmetic in a different summation order.
const LOSS_TOLERANCE: f64 = 1e-4;

/// Largest difference allowed between the backends' weights after the steps, as a fraction of
/// the largest distance any weight moved: the backends agree on the updates to 1 %.
const WEIGHT_TOLERANCE: f64 = 0.01;

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
    initial: Vec<TensorData>,
    trained: Vec<TensorData>,
}

fn train<B: AutodiffBackend>(variant: Variant, device: B::Device) -> Trained {
    let mut engine = Engine::<B>::new(config(variant), distinct_images(), device).unwrap();
    let both = |(generator, critic): (Vec<TensorData>, Vec<TensorData>)| [generator, critic].concat();
    let initial = both(snapshot(&engine));
    let metrics = (0..GENERATOR_STEPS).map(|_| engine.train_step().unwrap()).collect();
    Trained {
        metrics,
        initial,
        trained: both(snapshot(&engine)),
    }
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
        assert_eq!(
            largest_difference(&cpu.initial, &gpu.initial),
            0.0,
            "same initial weights"
        );
        let moved = largest_difference(&cpu.initial, &cpu.trained);
        let difference = largest_difference(&cpu.trained, &gpu.trained);
        eprintln!("{variant:?}: weights moved up to {moved:.2e}; the backends differ by up to {difference:.2e}");
        assert!(
            moved > 0.0 && difference <= WEIGHT_TOLERANCE * moved,
            "{variant:?}: {difference:.3e} apart"
        );
    }
}

/// Bilinear upsampling on wgpu equals the CPU's on the generator's shapes. `[8, 8, 8, 8]`
/// widens rows with a `[512, 8] · [8, 16]` product, one of the shapes where cubecl's matmul
/// with a transposed right-hand side returned wrong pixels on Mesa's llvmpipe (off by up to
/// 1 on values in [−1, 1]) before the interpolation matrices were laid out contiguously.
#[test]
fn wgpu_upsampling_agrees_with_the_cpu_backend() {
    require_vulkan_adapter();
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
