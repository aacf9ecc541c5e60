//! A training run: the engine driven to its step budget inside a run directory.
//!
//! [`Run`] owns everything around the engine: the run directory and its lock, the metrics
//! log, sample grids and plots, the checkpoint cadence, quality measurements and the
//! observer's events. Creating and resuming runs is in `resume.rs`.

mod dir;
mod grid;
mod lock;
mod metrics;
mod observer;
mod plot;
mod quality_probe;
mod resume;
mod sink;
mod summary;

use std::path::PathBuf;
use std::time::Instant;

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;

use crate::checkpoint::{RunProgress, prune_checkpoints, save};
use wgan_model::Generator;

use crate::{Engine, TrainError, TrainStepMetrics, samples_of};

pub use dir::{RunDir, read_npy, write_npy};
pub use grid::{GRID_BORDER, Grid, write_grid};
pub use lock::{LOCK_FILE, RunLock};
pub use metrics::{MetricsLog, QualityPoint, StepMetrics, read_metrics};
pub use observer::{Silent, TrainObserver};
pub use plot::{Curve, Panel, XAxis, draw_panels, plot_losses, plot_quality, plot_run, smooth};
pub use quality_probe::{QualityError, QualityProbe};
pub use resume::Resumed;
pub use sink::{CONFIG_TAG, RunSink, SAMPLES_EMA_TAG, SAMPLES_TAG, TensorBoardSink};
pub use summary::{AtStep, RunSummary, config_sha256};

/// Images in every sample grid (an 8×8 grid).
pub const GRID_IMAGES: usize = 64;
/// Tiles per grid row.
const GRID_COLUMNS: usize = 8;

/// How [`Run::run`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// Reached `schedule.steps`.
    Finished,
    /// Stopped on request after checkpointing this step.
    Stopped {
        /// The step checkpointed.
        step: u64,
    },
}

/// One run directory with the engine that trains in it.
pub struct Run<B: AutodiffBackend> {
    engine: Engine<B>,
    dir: RunDir,
    /// Held for the run's lifetime: one training process per run directory.
    lock: RunLock,
    /// `metrics.jsonl` first, then TensorBoard (when `logging.tensorboard`).
    sinks: Vec<Box<dyn RunSink>>,
    /// Every step's metrics so far, as logged.
    history: Vec<StepMetrics>,
    /// `[GRID_IMAGES · latent_dim]`, the noise behind every sample grid.
    fixed_noise: Vec<f32>,
    /// When this process started training.
    started: Instant,
    /// Training seconds before `started` (earlier segments of a resumed run).
    elapsed_before: f64,
    /// When the previous step ended (or training started), for steps/s.
    last_step_at: Instant,
    /// The device named in `summary.json`.
    device: String,
    /// Measures sample quality every `schedule.eval_interval` steps.
    quality_probe: Option<Box<dyn QualityProbe<B::InnerBackend>>>,
}

impl<B: AutodiffBackend> Run<B> {
    /// Trains until `schedule.steps`, writing metrics every step, grids and plots every
    /// `schedule.sample_interval` steps, checkpoints every `schedule.checkpoint_interval`
    /// steps, and all three at the end. When the observer asks to stop, the current step is
    /// finished and checkpointed first.
    pub fn run(&mut self, observer: &mut dyn TrainObserver) -> Result<RunOutcome, TrainError> {
        let schedule = self.engine.config().schedule.clone();
        if schedule.eval_interval > 0 && self.quality_probe.is_none() {
            return Err(TrainError::NoQualityProbe);
        }
        observer.started(self.step(), schedule.steps);
        while self.step() < schedule.steps {
            let step = self.engine.train_step()?;
            let metrics = self.record(step)?;
            observer.step(&metrics);
            let last = self.step() == schedule.steps;
            if self.step().is_multiple_of(schedule.sample_interval) || last {
                self.write_artifacts(observer)?;
            }
            let stop = observer.should_stop();
            if self.step().is_multiple_of(schedule.checkpoint_interval) || last || stop {
                let path = self.save_checkpoint()?;
                observer.wrote(&path);
            }
            if stop && !last {
                return Ok(RunOutcome::Stopped { step: self.step() });
            }
        }
        let step = self.step();
        for sink in &mut self.sinks {
            sink.finished(step)?;
        }
        observer.finished(self.history.last());
        Ok(RunOutcome::Finished)
    }

    /// Logs one step's metrics, with the run's clock and, on measuring steps, sample quality.
    fn record(&mut self, step: TrainStepMetrics) -> Result<StepMetrics, TrainError> {
        let elapsed_s = self.elapsed();
        let step_seconds = self.last_step_at.elapsed().as_secs_f64();
        self.last_step_at = Instant::now();
        let schedule = &self.engine.config().schedule;
        let measure = step.step.is_multiple_of(schedule.eval_interval) || step.step == schedule.steps;
        let (quality, quality_ema) = if schedule.eval_interval > 0 && measure {
            self.measure_quality()?
        } else {
            (None, None)
        };
        let metrics = StepMetrics {
            step: step.step,
            critic_loss: step.critic_loss,
            generator_loss: step.generator_loss,
            wasserstein_estimate: step.wasserstein_estimate,
            gradient_penalty: step.gradient_penalty,
            elapsed_s,
            steps_per_s: (step_seconds > 0.0).then(|| 1.0 / step_seconds),
            quality,
            quality_ema,
        };
        for sink in &mut self.sinks {
            sink.step(&metrics)?;
        }
        self.history.push(metrics.clone());
        Ok(metrics)
    }

    /// Attaches the quality measurement that runs every `schedule.eval_interval` steps.
    pub fn set_quality_probe(&mut self, probe: Box<dyn QualityProbe<B::InnerBackend>>) {
        self.quality_probe = Some(probe);
    }

    /// Measures the current generator, and G_ema if the run keeps one, with the attached probe.
    fn measure_quality(&mut self) -> Result<(Option<QualityPoint>, Option<QualityPoint>), TrainError> {
        let step = self.step();
        let generator = self.engine.generator().valid();
        let ema = self.engine.ema_for_inference();
        let config = self.engine.config();
        let (latent_dim, samples) = (config.model.latent_dim, config.schedule.eval_samples);
        let probe = self.quality_probe.as_mut().ok_or(TrainError::NoQualityProbe)?;
        let mut measure = |generator: &Generator<B::InnerBackend>| {
            probe
                .measure(generator, latent_dim, samples)
                .map_err(|error| TrainError::Quality { step, error })
        };
        let raw = measure(&generator)?;
        let ema = ema.as_ref().map(&mut measure).transpose()?;
        Ok((Some(raw), ema))
    }

    /// Names the device in `summary.json` (e.g. `cpu (flex)`); by default it is burn's
    /// debug name of the device.
    pub fn set_device(&mut self, device: impl Into<String>) {
        self.device = device.into();
    }

    /// Writes `summary.json` from the metrics so far.
    pub fn write_summary(&self) -> Result<RunSummary, TrainError> {
        let summary = RunSummary::of(&self.history, self.engine.config(), &self.device);
        summary.write(&self.dir.summary())?;
        Ok(summary)
    }

    /// Writes a checkpoint of the current state (with G_ema ready for inference) and prunes
    /// old ones, then rewrites `summary.json`; returns the checkpoint's path.
    pub fn save_checkpoint(&mut self) -> Result<PathBuf, TrainError> {
        let progress = RunProgress {
            elapsed_s: self.elapsed(),
            fixed_noise: self.fixed_noise.clone(),
        };
        let checkpoints = self.dir.checkpoints_dir();
        let ema = self.engine.ema_for_inference();
        let path = save(
            &checkpoints,
            self.engine.state(),
            ema.as_ref(),
            &progress,
            &self.engine.config().model,
        )?;
        prune_checkpoints(&checkpoints, self.engine.config().schedule.keep_checkpoints)?;
        self.write_summary()?;
        Ok(path)
    }

    /// Wall-clock seconds of training, over every segment of the run.
    fn elapsed(&self) -> f64 {
        self.elapsed_before + self.started.elapsed().as_secs_f64()
    }

    /// Writes the current sample grid (to `samples/` and every sink), and G_ema's if the run
    /// keeps one, and redraws the plots, PNG and SVG. A plot that cannot be drawn is a warning,
    /// not a reason to stop training.
    pub fn write_artifacts(&mut self, observer: &mut dyn TrainObserver) -> Result<Vec<PathBuf>, TrainError> {
        let step = self.step();
        let raw = self.engine.generator().valid();
        let mut grids = vec![(raw, self.dir.sample_grid(step), SAMPLES_TAG)];
        if let Some(ema) = self.engine.ema_for_inference() {
            grids.push((ema, self.dir.ema_sample_grid(step), SAMPLES_EMA_TAG));
        }
        let mut written = Vec::new();
        for (generator, path, tag) in grids {
            let grid = self.grid_of(&generator)?;
            grid.save(&path)?;
            observer.wrote(&path);
            for sink in &mut self.sinks {
                sink.grid(step, tag, &grid)?;
            }
            written.push(path);
        }
        for (path, drawn) in plot_run(&self.dir, &self.history, self.engine.config().logging.smoothing) {
            match drawn {
                Ok(()) => {
                    observer.wrote(&path);
                    written.push(path);
                }
                Err(err) => observer.warning(&err.to_string()),
            }
        }
        Ok(written)
    }

    /// The sample grid of `generator` from the fixed noise.
    fn grid_of(&self, generator: &Generator<B::InnerBackend>) -> Result<Grid, TrainError> {
        let pixels = samples_of(generator, &self.fixed_noise, self.engine.device())
            .into_data()
            .convert::<f32>()
            .to_vec::<f32>()
            .map_err(|error| TrainError::TensorRead(format!("{error:?}")))?;
        let config = self.engine.config();
        let (model, logging) = (&config.model, &config.logging);
        Grid::tile(
            &pixels,
            model.channels,
            model.image_size,
            GRID_COLUMNS,
            logging.grid_scale,
        )
    }

    /// The owner named in a lock file this run took over because its process had died.
    pub fn stale_lock_owner(&self) -> Option<&str> {
        self.lock.stale_owner()
    }

    /// Generator steps completed.
    pub fn step(&self) -> u64 {
        self.engine.step()
    }

    /// The engine being driven.
    pub fn engine(&self) -> &Engine<B> {
        &self.engine
    }

    /// The engine, to step it by hand.
    pub fn engine_mut(&mut self) -> &mut Engine<B> {
        &mut self.engine
    }

    /// The run directory.
    pub fn dir(&self) -> &RunDir {
        &self.dir
    }

    /// The noise behind every sample grid, `[GRID_IMAGES · latent_dim]`.
    pub fn fixed_noise(&self) -> &[f32] {
        &self.fixed_noise
    }

    /// Every step's metrics so far.
    pub fn history(&self) -> &[StepMetrics] {
        &self.history
    }
}
