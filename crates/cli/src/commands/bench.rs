//! `wgan bench`: how fast a configuration trains, and where the time goes.

use std::time::{Duration, Instant};

use burn::tensor::backend::AutodiffBackend;
use wgan_train::{Engine, StepTimings};

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
}

fn bench<B: AutodiffBackend>(
    settings: &BenchSettings,
    data: wgan_data::ImageSet,
    device_name: String,
    device: B::Device,
) -> anyhow::Result<Report> {
    let config = &settings.config;
    let mut engine = Engine::<B>::new(config.clone(), data, device)?;
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
    }
}
