//! Where a run's records go: each sink receives every step's metrics, every sample grid and
//! the end of training. `metrics.jsonl` ([`MetricsLog`]) and TensorBoard
//! ([`TensorBoardSink`]) are the two; the training loop knows neither.

use std::path::Path;

use super::grid::Grid;
use super::metrics::{MetricsLog, StepMetrics};
use crate::tensorboard::{EventWriter, HParam};
use crate::{OptimizerConfig, RunConfig, TrainError};

/// Receives a run's records as they happen.
pub trait RunSink {
    /// One generator step's metrics.
    fn step(&mut self, metrics: &StepMetrics) -> Result<(), TrainError>;
    /// A sample grid of `step`, under `tag` ([`SAMPLES_TAG`] or [`SAMPLES_EMA_TAG`]).
    fn grid(&mut self, _step: u64, _tag: &str, _grid: &Grid) -> Result<(), TrainError> {
        Ok(())
    }
    /// Training reached its step budget at `step`.
    fn finished(&mut self, _step: u64) -> Result<(), TrainError> {
        Ok(())
    }
}

impl RunSink for MetricsLog {
    fn step(&mut self, metrics: &StepMetrics) -> Result<(), TrainError> {
        self.append(metrics)
    }
}

/// The TensorBoard tag of the sample grids.
pub const SAMPLES_TAG: &str = "samples/fixed_noise";
/// The TensorBoard tag of G_ema's sample grids.
pub const SAMPLES_EMA_TAG: &str = "samples/fixed_noise_ema";
/// The TensorBoard tag of the resolved config (text plugin).
pub const CONFIG_TAG: &str = "config";

/// TensorBoard event files in `RUN/tensorboard/`: every scalar of `metrics.jsonl` under the
/// tags of [`StepMetrics::scalars`], the sample grids, the config as text and the
/// hyperparameters.
#[derive(Debug)]
pub struct TensorBoardSink {
    writer: EventWriter,
}

impl TensorBoardSink {
    /// Opens a run's TensorBoard log in `dir`. `resumed_at` is the checkpoint step a
    /// resumed run continues from; `None` for a run at step 0, whose file starts with the
    /// config text and the hyperparameters. On resume, the events the interrupted process
    /// logged after the checkpoint are cut from the old files, and the new file opens with
    /// a `SessionLog` START at the first step to be logged again, so that a TensorBoard
    /// that already read those events drops them too.
    pub fn open(dir: &Path, resumed_at: Option<u64>, config: &RunConfig) -> Result<Self, TrainError> {
        crate::tensorboard::keep_events_through(dir, resumed_at)?;
        let mut writer = EventWriter::create(dir)?;
        match resumed_at {
            None => {
                writer.text(CONFIG_TAG, 0, &config_markdown(config))?;
                writer.hparams(&hparams(config))?;
            }
            Some(step) => {
                writer.session_start(step + 1)?;
                writer.text(CONFIG_TAG, step + 1, &config_markdown(config))?;
            }
        }
        Ok(Self { writer })
    }

    /// The event file being written.
    pub fn path(&self) -> &Path {
        self.writer.path()
    }
}

impl RunSink for TensorBoardSink {
    fn step(&mut self, metrics: &StepMetrics) -> Result<(), TrainError> {
        for (tag, value) in metrics.scalars() {
            self.writer.scalar(tag, metrics.step, value)?;
        }
        Ok(())
    }

    fn grid(&mut self, step: u64, tag: &str, grid: &Grid) -> Result<(), TrainError> {
        let png = grid.png().map_err(|error| TrainError::Image {
            path: self.writer.path().to_path_buf(),
            error,
        })?;
        self.writer.image(tag, step, png, grid.size(), grid.channels())
    }

    fn finished(&mut self, step: u64) -> Result<(), TrainError> {
        self.writer.hparams_end(step)
    }
}

/// The resolved config as a Markdown code block (the text plugin renders Markdown).
fn config_markdown(config: &RunConfig) -> String {
    let toml = config.to_toml();
    let indented: Vec<String> = toml.lines().map(|line| format!("    {line}")).collect();
    indented.join("\n")
}

/// The hyperparameters shown in TensorBoard's hparams table.
fn hparams(config: &RunConfig) -> Vec<(String, HParam)> {
    let number = |value: f64| HParam::Number(value);
    let learning_rate = |optimizer: &OptimizerConfig| match *optimizer {
        OptimizerConfig::Adam { learning_rate, .. } | OptimizerConfig::RmsProp { learning_rate, .. } => learning_rate,
    };
    let optimizer_name = |optimizer: &OptimizerConfig| match optimizer {
        OptimizerConfig::Adam { .. } => "adam",
        OptimizerConfig::RmsProp { .. } => "rmsprop",
    };
    let mut list = vec![
        ("variant", HParam::Text(config.preset.name().into())),
        ("seed", number(config.seed as f64)),
        ("model.dim", number(config.model.dim as f64)),
        ("model.latent_dim", number(config.model.latent_dim as f64)),
        ("model.image_size", number(config.model.image_size as f64)),
        ("model.channels", number(config.model.channels as f64)),
        ("data.source", HParam::Text(config.data.source.name().into())),
        ("data.batch_size", number(config.data.batch_size as f64)),
        ("data.horizontal_flip", HParam::Bool(config.data.horizontal_flip)),
        ("schedule.steps", number(config.schedule.steps as f64)),
        ("schedule.n_critic", number(f64::from(config.schedule.n_critic))),
        (
            "optimizer.critic",
            HParam::Text(optimizer_name(&config.optimizer.critic).into()),
        ),
        (
            "optimizer.critic.learning_rate",
            number(learning_rate(&config.optimizer.critic)),
        ),
        (
            "optimizer.generator",
            HParam::Text(optimizer_name(&config.optimizer.generator).into()),
        ),
        (
            "optimizer.generator.learning_rate",
            number(learning_rate(&config.optimizer.generator)),
        ),
    ];
    list.push(("lipschitz", HParam::Text(config.lipschitz.name())));
    if let Some(clip_value) = config.lipschitz.clip_value() {
        list.push(("lipschitz.clip_value", number(clip_value)));
    }
    if let Some(penalty) = config.lipschitz.penalty() {
        list.push(("lipschitz.penalty_weight", number(penalty.weight())));
    }
    if let Some(iterations) = config.lipschitz.spectral_norm_iterations() {
        list.push(("lipschitz.power_iterations", number(f64::from(iterations))));
    }
    if config.drift > 0.0 {
        list.push(("drift", number(config.drift)));
    }
    if let Some(ema) = &config.ema {
        list.push(("ema.decay", number(ema.decay)));
        list.push(("ema.ramp_up", number(ema.ramp_up)));
    }
    list.into_iter().map(|(name, value)| (name.to_owned(), value)).collect()
}
