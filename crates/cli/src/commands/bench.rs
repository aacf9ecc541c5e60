//! `wgan bench`: how fast a configuration trains, and where the time goes.

use std::time::{Duration, Instant};

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Distribution, Tensor};
use wgan_train::{Engine, StepFlops, StepTimings};

use crate::args::BenchArgs;
use crate::dataset::load_training_data;
use crate::device::{self, with_backend};
use crate::settings::BenchSettings;

/// Times `--steps` generator steps after `--warmup` untimed ones, on the real training data,
/// driving the training engine directly: nothing is written.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let settings = BenchSettings::resolve(args)?;
    let device = device::select(settings.device)?;
    let config = &settings.config;
    let data = load_training_data(config)?.images;
    let device_name = device.to_string();
    let report = with_backend!(&device, |B, handle| bench::<B>(&settings, data, device_name, handle)?);
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
    /// GFLOP/s of a [`PEAK_SIZE`]² matrix product on the same device, with `--peak`.
    peak_gflop_per_s: Option<f64>,
}

/// Side of the square f32 matrices whose product sets the peak: 17.2 GFLOP, about 0.1 s on
/// two CPU cores.
const PEAK_SIZE: usize = 2048;

/// Timed products for the peak, after two untimed ones.
const PEAK_RUNS: usize = 7;

/// The median GFLOP/s of [`PEAK_SIZE`]² · [`PEAK_SIZE`]² products of random f32 matrices on
/// `device`, each timed until one element of its result is back on the host.
fn matrix_product_peak<B: Backend>(device: &B::Device) -> f64 {
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
    device: B::Device,
) -> anyhow::Result<Report> {
    let config = &settings.config;
    let peak_gflop_per_s = settings.peak.then(|| matrix_product_peak::<B::InnerBackend>(&device));
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
        peak_gflop_per_s,
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
        self.peak_gflop_per_s.map(|peak| self.gflop_per_s() / peak)
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
            "peak_gflop_per_s": self.peak_gflop_per_s,
            "peak_matrix_size": self.peak_gflop_per_s.map(|_| PEAK_SIZE),
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
        if let (Some(peak), Some(fraction)) = (self.peak_gflop_per_s, self.peak_fraction()) {
            println!(
                "peak ({PEAK_SIZE}² matrix product on the same device): {peak:.1} GFLOP/s; the step runs at {:.1} % of it",
                100.0 * fraction
            );
        }
    }
}
