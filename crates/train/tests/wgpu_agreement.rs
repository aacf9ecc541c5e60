//! The wgpu backend trains like the CPU backend: two generator steps (ten critic steps, the
//! gradient penalty or weight clipping included) of both variants at a tiny width give the
//! same losses and the same parameter updates on wgpu as on flex, within [`LOSS_TOLERANCE`]
//! and [`UPDATE_TOLERANCE`].
//!
//! The optimizers' epsilon is raised (to 1 for Adam, to 1e-3 for RMSprop, whose gradients under
//! weight clipping are about 1e-4) so that each update is proportional to its gradient. With
//! the seed's tiny epsilon, Adam and RMSprop move a weight by about the learning rate whatever
//! its gradient's size, and a bias that feeds a BatchNorm has a gradient that is zero in exact
//! arithmetic: its update direction is rounding noise, different on each backend.
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
use common::{bias_before_batch_norm, distinct_images, metric_pairs, named_tensors};
use std::sync::{Mutex, MutexGuard};
use wgan_model::Variant;
use wgan_ops::upsample_bilinear_2x;
use wgan_train::{Engine, LipschitzConstraint, RunConfig, TrainStepMetrics};

/// Largest difference allowed between the backends' losses, relative to the loss's size
/// (floor 1): the same arithmetic in a different summation order, compounded over ten
/// optimizer steps. They agree to about 1e-7; a wrong kernel for one matrix product of the
/// upsampling's backward pass moved the second step's losses by 1.1e-4 and 1.8e-4.
const LOSS_TOLERANCE: f64 = 3e-5;

/// Largest difference allowed between the backends' values of a tensor after the steps, as a
/// fraction of the largest update training made to that tensor: the backends agree on each
/// tensor's updates to 1 %.
const UPDATE_TOLERANCE: f64 = 0.01;

/// Differences up to this are rounding whatever the update (16 float32 ulps at 1).
const ROUNDING_FLOOR: f64 = 1e-6;

const GENERATOR_STEPS: usize = 2;

fn config(variant: Variant) -> RunConfig {
    let mut config = common::with_visible_updates(common::small_config(variant, 5, 8, 16, 8));
    config.schedule.steps = GENERATOR_STEPS as u64;
    config
}

/// The metrics of each generator step, and the networks before and after.
struct Trained {
    metrics: Vec<TrainStepMetrics>,
    /// Every float tensor's module path (`generator.blocks.0.conv.bias`), in visiting order.
    names: Vec<String>,
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
    let snapshot = |engine: &Engine<B>| {
        [
            named_tensors("generator", engine.generator()),
            named_tensors("critic", engine.critic()),
        ]
        .concat()
    };
    let (names, start): (Vec<String>, Vec<TensorData>) = snapshot(&engine)
        .into_iter()
        .map(|(name, tensor)| {
            // Clipping the initial critic is not training: its largest move (a BatchNorm scale
            // from 1 to the clip value) would dwarf every update, and both backends make it
            // exactly.
            match clip_value {
                Some(clip_value) if name.starts_with("critic.") => (name, clipped(&tensor, clip_value as f32)),
                _ => (name, tensor),
            }
        })
        .unzip();
    let metrics = (0..GENERATOR_STEPS).map(|_| engine.train_step().unwrap()).collect();
    let trained = snapshot(&engine).into_iter().map(|(_, tensor)| tensor).collect();
    Trained {
        metrics,
        names,
        start,
        trained,
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
            for (name, x, y) in metric_pairs(a, b) {
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
        let tensors = cpu.start.iter().zip(&cpu.trained).zip(&gpu.trained).zip(&cpu.names);
        for (((start, cpu_trained), gpu_trained), name) in tensors {
            let update = largest_difference(std::slice::from_ref(start), std::slice::from_ref(cpu_trained));
            let difference = largest_difference(std::slice::from_ref(cpu_trained), std::slice::from_ref(gpu_trained));
            eprintln!(
                "{variant:?} {name} {:?}: updated by up to {update:.2e}; the backends differ by up to {difference:.2e}",
                cpu_trained.shape
            );
            if bias_before_batch_norm(name, &cpu.names) {
                continue;
            }
            assert!(
                difference <= (UPDATE_TOLERANCE * update).max(ROUNDING_FLOOR),
                "{variant:?} {name}: the backends are {difference:.3e} apart after updates of up to {update:.3e}"
            );
        }
        let skipped = cpu
            .names
            .iter()
            .filter(|name| bias_before_batch_norm(name, &cpu.names))
            .count();
        assert_eq!(
            skipped,
            if variant == Variant::Wgan { 3 } else { 2 },
            "{variant:?}: biases before a BatchNorm"
        );
    }
}

/// Bilinear upsampling on wgpu equals the CPU's on the generator's shapes, forward and
/// backward. Two of cubecl's matmul kernels with a transposed right-hand side return wrong
/// values on Mesa's llvmpipe (one for `[512, 8] · [8, 16]`, another, which autotune picks on
/// some runs, for `[512, 8] · [8, 4]ᵀ`): the backward pass of the width product when the
/// upsampling was two matrix products. The generic upsampling has no matrix product now.
#[test]
fn wgpu_upsampling_agrees_with_the_cpu_backend() {
    require_vulkan_adapter();
    let _device = take_wgpu_device();
    for shape in [[8, 16, 4, 4], [8, 8, 8, 8], [64, 1, 8, 8], [2, 3, 5, 7]] {
        let count: usize = shape.iter().product();
        let values: Vec<f32> = (0..count).map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0).collect();
        let upstream: Vec<f32> = (0..4 * count).map(|i| ((i * 53 % 97) as f32 / 48.0) - 1.0).collect();
        let [batch, channels, height, width] = shape;
        let upstream = TensorData::new(upstream, [batch, channels, 2 * height, 2 * width]);
        let (cpu, cpu_grad) =
            upsampled_with_gradient::<Autodiff<Flex>>(&values, shape, upstream.clone(), Default::default());
        let (gpu, gpu_grad) =
            upsampled_with_gradient::<Autodiff<Wgpu>>(&values, shape, upstream, WgpuDevice::DefaultDevice);
        let difference = largest_difference(&[cpu], &[gpu]);
        assert!(
            difference <= 1e-6,
            "{shape:?}: wgpu differs from the CPU by {difference:.2e}"
        );
        let difference = largest_difference(&[cpu_grad], &[gpu_grad]);
        assert!(
            difference <= 1e-6,
            "{shape:?}: wgpu's input gradient differs from the CPU's by {difference:.2e}"
        );
    }
}

/// `up(x)` and `∂ sum(up(x) ⊙ upstream) / ∂x` for `x` of `shape` holding `values`.
fn upsampled_with_gradient<B: AutodiffBackend>(
    values: &[f32],
    shape: [usize; 4],
    upstream: TensorData,
    device: B::Device,
) -> (TensorData, TensorData) {
    let input = Tensor::<B, 4>::from_data(TensorData::new(values.to_vec(), shape), &device).require_grad();
    let output = upsample_bilinear_2x(input.clone());
    let upstream = Tensor::<B, 4>::from_data(upstream, &device);
    let gradients = output.clone().mul(upstream).sum().backward();
    let gradient = input.grad(&gradients).expect("the input is tracked");
    (output.into_data(), gradient.into_data())
}
