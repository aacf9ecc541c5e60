//! `wgan bench`: how fast a configuration trains, and where the time goes.

use std::time::{Duration, Instant};

use anyhow::Context;
use burn::tensor::backend::AutodiffBackend;
use wgan_data::Split;
use wgan_train::{RunConfig, RunDir, StepTimings, Trainer};

use crate::UserError;
use crate::args::BenchArgs;
use crate::dataset::load_split;
use crate::device::{self, with_backend};
use crate::settings::load_config;

/// Times `--steps` generator steps after `--warmup` untimed ones, on the real training data,
/// in a throw-away run directory.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    if args.steps == 0 {
        return Err(UserError("--steps must be at least 1".into()).into());
    }
    let device = device::select(&args.device)?;
    let mut config = load_config(&args.config.config, &args.config.overrides)?;
    // Timing only: no grids, checkpoints or quality measurements.
    config.schedule.eval_interval = 0;
    let data = load_split(Split::Train, config.data.path.clone(), config.model.image_size)?;
    let scratch = tempfile::tempdir().context("creating a scratch run directory")?;
    let device_name = device.to_string();
    let report = with_backend!(&device, |B, handle| bench::<B>(
        &config,
        data,
        scratch.path(),
        args,
        device_name,
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
}

fn bench<B: AutodiffBackend>(
    config: &RunConfig,
    data: wgan_data::ImageSet,
    scratch: &std::path::Path,
    args: &BenchArgs,
    device_name: String,
    device: B::Device,
) -> anyhow::Result<Report> {
    let run_dir = RunDir::create(scratch.join("bench"))?;
    let mut trainer = Trainer::<B>::new(config.clone(), data, run_dir, device)?;
    for _ in 0..args.warmup {
        trainer.train_step()?;
    }
    trainer.take_timings();
    let mut step_s = Vec::with_capacity(args.steps);
    for _ in 0..args.steps {
        let started = Instant::now();
        trainer.train_step()?;
        step_s.push(started.elapsed().as_secs_f64());
    }
    Ok(Report {
        device: device_name,
        variant: serde_json::to_value(config.preset)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        dim: config.model.dim,
        batch_size: config.data.batch_size,
        n_critic: config.schedule.n_critic,
        steps: args.steps,
        step_s,
        timings: trainer.take_timings(),
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
