//! `wgan bench`: how fast a configuration trains, and where the time goes.

use std::time::{Duration, Instant};

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Distribution, Tensor};
use wgan_train::{Engine, StepFlops, StepTimings};

use crate::args::BenchArgs;
use crate::dataset::load_training_data;
use crate::device::{self, ComputeDevice, with_backend};
use crate::settings::BenchSettings;

/// Times `--steps` generator steps after `--warmup` untimed ones, on the real training data,
/// driving the training engine directly: nothing is written.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let settings = BenchSettings::resolve(args)?;
    let device = device::select(settings.device)?;
    let config = &settings.config;
    let data = load_training_data(config)?.images;
    let device_name = device.to_string();
    let on_cpu = matches!(device, ComputeDevice::Cpu);
    let report = with_backend!(&device, |B, handle| bench::<B>(
        &settings,
        data,
        device_name,
        on_cpu,
        handle
    )?);
    if args.json {
        println!("{}", report.to_json());
    } else {
        report.print();
    }
    Ok(())
}

/// What `wgan bench` measured.
struct Report {
    device: String,
    variant: String,
    dim: usize,
    batch_size: usize,
    n_critic: u32,
    steps: usize,
    /// Seconds of each timed generator step.
    step_s: Vec<f64>,
    /// Summed over the timed steps.
    timings: StepTimings,
    /// FLOPs of one generator step, counted from the architecture.
    flops: StepFlops,
    /// The matrix-product peak of the same device, with `--peak`.
    peak: Option<Peak>,
}

/// A matrix-product rate to compare the step's with.
struct Peak {
    gflop_per_s: f64,
    /// What was timed, e.g. `"gemm"`.
    method: &'static str,
    /// Side of the square f32 matrices multiplied.
    matrix_size: usize,
    /// Products at once (one per CPU thread for `gemm`).
    concurrent_products: usize,
}

/// Side of the square f32 matrices whose product sets the peak off the CPU: 17.2 GFLOP, a few
/// ms on a GPU.
const PEAK_SIZE: usize = 2048;

/// Timed products for the peak, after the untimed ones.
const PEAK_RUNS: usize = 7;

impl Peak {
    /// On the CPU, the convolutions' own gemm call on every thread at once
    /// ([`wgan_ops::host_matrix_product_peak`]): flex's `matmul` is slower than that gemm, so
    /// timing it would set the ceiling below what the step's products reach. Elsewhere, burn's
    /// `matmul` of [`PEAK_SIZE`]² matrices, which is what the step's products run on there.
    fn measure<B: Backend>(device: &B::Device, on_cpu: bool) -> Self {
        if on_cpu {
            Self {
                gflop_per_s: wgan_ops::host_matrix_product_peak(wgan_ops::HOST_PEAK_SIZE, PEAK_RUNS),
                method: "gemm (the CPU convolutions' call, one product per thread)",
                matrix_size: wgan_ops::HOST_PEAK_SIZE,
                concurrent_products: rayon::current_num_threads(),
            }
        } else {
            Self {
                gflop_per_s: burn_matmul_peak::<B>(device),
                method: "burn matmul",
                matrix_size: PEAK_SIZE,
                concurrent_products: 1,
            }
        }
    }
}

/// The median GFLOP/s of [`PEAK_SIZE`]² · [`PEAK_SIZE`]² products of random f32 matrices on
/// `device`, each timed until one element of its result is back on the host.
fn burn_matmul_peak<B: Backend>(device: &B::Device) -> f64 {
    let random = || Tensor::<B, 2>::random([PEAK_SIZE, PEAK_SIZE], Distribution::Uniform(-1.0, 1.0), device);
    let (left, right) = (random(), random());
    let mut seconds: Vec<f64> = (0..PEAK_RUNS + 2)
        .map(|_| {
            let started = Instant::now();
            let product = left.clone().matmul(right.clone());
            // burn's `slice` takes one range per leading dimension.
            let _ = product.slice([0..1, 0..1]).into_data();
            started.elapsed().as_secs_f64()
        })
        .skip(2)
        .collect();
    seconds.sort_by(f64::total_cmp);
    let flops = 2.0 * (PEAK_SIZE as f64).powi(3);
    flops / seconds[seconds.len() / 2] / 1e9
}

fn bench<B: AutodiffBackend>(
    settings: &BenchSettings,
    data: wgan_data::ImageSet,
    device_name: String,
    on_cpu: bool,
    device: B::Device,
) -> anyhow::Result<Report> {
    let config = &settings.config;
    let peak = settings.peak.then(|| Peak::measure::<B::InnerBackend>(&device, on_cpu));
    let mut engine = Engine::<B>::new(config.clone(), data, device)?;
    let flops = StepFlops::of(
        config,
        engine.generator().summary().forward_flops,
        engine.critic().summary().forward_flops,
    );
    for _ in 0..settings.warmup {
        engine.train_step()?;
    }
    engine.take_timings();
    let mut step_s = Vec::with_capacity(settings.steps);
    for _ in 0..settings.steps {
        let started = Instant::now();
        engine.train_step()?;
        step_s.push(started.elapsed().as_secs_f64());
    }
    Ok(Report {
        device: device_name,
        variant: config.preset.name().to_string(),
        dim: config.model.dim,
        batch_size: config.data.batch_size,
        n_critic: config.schedule.n_critic,
        steps: settings.steps,
        step_s,
        timings: engine.take_timings(),
        flops,
        peak,
    })
}

impl Report {
    fn median_step_s(&self) -> f64 {
        let mut sorted = self.step_s.clone();
        sorted.sort_by(f64::total_cmp);
        let middle = sorted.len() / 2;
        if sorted.len() % 2 == 1 {
            sorted[middle]
        } else {
            0.5 * (sorted[middle - 1] + sorted[middle])
        }
    }

    /// Real images through the critic per second: batch × n_critic per generator step.
    fn images_per_s(&self) -> f64 {
        (self.batch_size as f64 * f64::from(self.n_critic)) / self.median_step_s()
    }

    /// The step's FLOPs over its median time, in GFLOP/s.
    fn gflop_per_s(&self) -> f64 {
        self.flops.total as f64 / self.median_step_s() / 1e9
    }

    /// [`Report::gflop_per_s`] as a fraction of the matrix-product peak, with `--peak`.
    fn peak_fraction(&self) -> Option<f64> {
        self.peak.as_ref().map(|peak| self.gflop_per_s() / peak.gflop_per_s)
    }

    /// `(data, critic, generator)` shares of the timed steps' total time.
    fn split(&self) -> (f64, f64, f64) {
        let StepTimings {
            data,
            critic,
            generator,
        } = self.timings;
        let total = (data + critic + generator).max(Duration::from_nanos(1)).as_secs_f64();
        (
            data.as_secs_f64() / total,
            critic.as_secs_f64() / total,
            generator.as_secs_f64() / total,
        )
    }

    fn to_json(&self) -> serde_json::Value {
        let (data, critic, generator) = self.split();
        serde_json::json!({
            "variant": self.variant,
            "device": self.device,
            "dim": self.dim,
            "batch_size": self.batch_size,
            "n_critic": self.n_critic,
            "steps": self.steps,
            "median_step_s": self.median_step_s(),
            "steps_per_s": 1.0 / self.median_step_s(),
            "images_per_s": self.images_per_s(),
            "step_s": self.step_s,
            "time_share": { "data": data, "critic": critic, "generator": generator },
            "flops_per_step": self.flops.total,
            "flops": self.flops,
            "gflop_per_s": self.gflop_per_s(),
            "peak_gflop_per_s": self.peak.as_ref().map(|peak| peak.gflop_per_s),
            "peak_method": self.peak.as_ref().map(|peak| peak.method),
            "peak_matrix_size": self.peak.as_ref().map(|peak| peak.matrix_size),
            "peak_concurrent_products": self.peak.as_ref().map(|peak| peak.concurrent_products),
            "peak_fraction": self.peak_fraction(),
        })
    }

    fn print(&self) {
        let (data, critic, generator) = self.split();
        println!(
            "{} DIM {} batch {} n_critic {} on {}: {} timed steps",
            self.variant, self.dim, self.batch_size, self.n_critic, self.device, self.steps
        );
        println!("median {:.4} s per generator step", self.median_step_s());
        println!(
            "{:.3} generator steps/s, {:.1} real images/s through the critic",
            1.0 / self.median_step_s(),
            self.images_per_s()
        );
        println!(
            "time: critic steps {:.1} %, generator step {:.1} %, data {:.1} %",
            100.0 * critic,
            100.0 * generator,
            100.0 * data
        );
        println!(
            "{:.1} GFLOP per generator step (critic step {:.1}, generator update {:.1}): {:.1} GFLOP/s",
            self.flops.total as f64 / 1e9,
            self.flops.critic_step as f64 / 1e9,
            self.flops.generator_step as f64 / 1e9,
            self.gflop_per_s()
        );
        if let (Some(peak), Some(fraction)) = (&self.peak, self.peak_fraction()) {
            println!(
                "peak ({} of {}² f32 matrices, {} at once, on the same device): {:.1} GFLOP/s; the step runs at {:.1} % of it",
                peak.method,
                peak.matrix_size,
                peak.concurrent_products,
                peak.gflop_per_s,
                100.0 * fraction
            );
        }
    }
}
