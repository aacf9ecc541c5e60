//! `RUN/summary.json`: a run's outcome in one small file, rewritten atomically at every
//! checkpoint and at the end, so that comparing runs needs no metrics log.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::dir::write_atomically;
use super::metrics::StepMetrics;
use crate::{RunConfig, TrainError};

/// A value reached at a step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AtStep {
    /// Generator step.
    pub step: u64,
    /// The value there.
    pub value: f64,
}

/// What `summary.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// The wgan version that wrote it.
    pub wgan_version: String,
    /// SHA-256 of the resolved config as `config.toml` holds it, hex.
    pub config_sha256: String,
    /// The device trained on, e.g. `cpu (flex)`.
    pub device: String,
    /// Generator steps completed.
    pub final_step: u64,
    /// `schedule.steps`.
    pub total_steps: u64,
    /// Whether the run reached `total_steps`.
    pub finished: bool,
    /// Training wall time in seconds, over every segment of a resumed run.
    pub wall_time_s: f64,
    /// `final_step / wall_time_s`.
    pub mean_steps_per_s: f64,
    /// The last step's Wasserstein estimate.
    pub final_wasserstein_estimate: Option<f64>,
    /// FD-FMNIST of the last measurement.
    pub final_fd_fmnist: Option<AtStep>,
    /// The lowest FD-FMNIST measured.
    pub best_fd_fmnist: Option<AtStep>,
    /// The Inception Score of the last measurement.
    pub final_inception_score: Option<AtStep>,
    /// The highest Inception Score measured.
    pub best_inception_score: Option<AtStep>,
    /// KID of the last measurement.
    #[serde(default)]
    pub final_kid: Option<AtStep>,
    /// G_ema's FD-FMNIST at the last measurement (runs with `[ema]`).
    #[serde(default)]
    pub final_ema_fd_fmnist: Option<AtStep>,
    /// G_ema's lowest FD-FMNIST.
    #[serde(default)]
    pub best_ema_fd_fmnist: Option<AtStep>,
    /// G_ema's KID at the last measurement.
    #[serde(default)]
    pub final_ema_kid: Option<AtStep>,
}

impl RunSummary {
    /// The summary of a run with `history` logged so far.
    pub fn of(history: &[StepMetrics], config: &RunConfig, device: &str) -> Self {
        let last = history.last();
        let final_step = last.map_or(0, |m| m.step);
        let wall_time_s = last.map_or(0.0, |m| m.elapsed_s);
        let measured = |value: fn(&StepMetrics) -> Option<f64>| -> Vec<AtStep> {
            history
                .iter()
                .filter_map(|m| value(m).map(|value| AtStep { step: m.step, value }))
                .collect()
        };
        let fd = measured(|m| m.quality.map(|q| q.fd_fmnist));
        let is = measured(|m| m.quality.map(|q| q.inception_score));
        let kid = measured(|m| m.quality.and_then(|q| q.kid));
        let ema_fd = measured(|m| m.quality_ema.map(|q| q.fd_fmnist));
        let ema_kid = measured(|m| m.quality_ema.and_then(|q| q.kid));
        let best = |points: &[AtStep], better: fn(f64, f64) -> bool| {
            points
                .iter()
                .copied()
                .reduce(|best, point| if better(point.value, best.value) { point } else { best })
        };
        Self {
            wgan_version: env!("CARGO_PKG_VERSION").to_owned(),
            config_sha256: config_sha256(config),
            device: device.to_owned(),
            final_step,
            total_steps: config.schedule.steps,
            finished: final_step >= config.schedule.steps,
            wall_time_s,
            mean_steps_per_s: if wall_time_s > 0.0 {
                final_step as f64 / wall_time_s
            } else {
                0.0
            },
            final_wasserstein_estimate: last.map(|m| m.wasserstein_estimate),
            final_fd_fmnist: fd.last().copied(),
            best_fd_fmnist: best(&fd, |a, b| a < b),
            final_inception_score: is.last().copied(),
            best_inception_score: best(&is, |a, b| a > b),
            final_kid: kid.last().copied(),
            final_ema_fd_fmnist: ema_fd.last().copied(),
            best_ema_fd_fmnist: best(&ema_fd, |a, b| a < b),
            final_ema_kid: ema_kid.last().copied(),
        }
    }

    /// Writes the summary to `path`, atomically.
    pub fn write(&self, path: &Path) -> Result<(), TrainError> {
        let mut text = serde_json::to_string_pretty(self).map_err(TrainError::Json)?;
        text.push('\n');
        write_atomically(path, text.as_bytes())
    }

    /// Reads a summary written by [`RunSummary::write`].
    pub fn read(path: &Path) -> Result<Self, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|source| TrainError::io(path, source))?;
        serde_json::from_str(&text).map_err(|error| TrainError::Summary {
            path: path.to_path_buf(),
            reason: error.to_string(),
        })
    }
}

/// SHA-256 of the config's TOML, hex: equal for runs trained with the same settings.
pub fn config_sha256(config: &RunConfig) -> String {
    Sha256::digest(config.to_toml().as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
