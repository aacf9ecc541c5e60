//! One record per generator step, appended to `metrics.jsonl` as it happens.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::TrainError;

/// What one generator step measured. Critic quantities are means over its n_critic steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepMetrics {
    /// Generator steps completed, from 1.
    pub step: u64,
    /// Mean critic loss `mean D(fake) − mean D(real) [+ λ·GP]`.
    pub critic_loss: f64,
    /// Generator loss `−mean D(G(z))`.
    pub generator_loss: f64,
    /// Mean Wasserstein estimate `mean D(real) − mean D(fake)`.
    pub wasserstein_estimate: f64,
    /// Mean gradient-norm penalty (without its weight); runs with a penalty only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gradient_penalty: Option<f64>,
    /// Seconds since the run started (wall clock, summed over resumed segments).
    pub elapsed_s: f64,
    /// Generator steps per second, from the wall time of this step (since the previous step
    /// ended, artifacts and checkpoints included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps_per_s: Option<f64>,
    /// Sample quality, on steps that measured it (`schedule.eval_interval`).
    #[serde(default, flatten, skip_serializing_if = "Option::is_none")]
    pub quality: Option<QualityPoint>,
    /// G_ema's sample quality on the same steps (runs with `[ema]`), as an object `ema`.
    #[serde(default, rename = "ema", skip_serializing_if = "Option::is_none")]
    pub quality_ema: Option<QualityPoint>,
}

impl StepMetrics {
    /// Every scalar of the record with its TensorBoard tag, in a fixed order; quantities the
    /// step did not measure (the penalty of a WGAN run, quality between measurements) are
    /// left out.
    pub fn scalars(&self) -> Vec<(&'static str, f64)> {
        let mut scalars = vec![
            ("loss/critic", self.critic_loss),
            ("loss/generator", self.generator_loss),
            ("loss/wasserstein_estimate", self.wasserstein_estimate),
        ];
        scalars.extend(self.gradient_penalty.map(|value| ("loss/gradient_penalty", value)));
        scalars.push(("time/elapsed_s", self.elapsed_s));
        scalars.extend(self.steps_per_s.map(|value| ("speed/steps_per_s", value)));
        if let Some(quality) = &self.quality {
            scalars.extend(quality.scalars(QUALITY_TAGS));
        }
        if let Some(quality) = &self.quality_ema {
            scalars.extend(quality.scalars(QUALITY_EMA_TAGS));
        }
        scalars
    }
}

/// TensorBoard tags of [`QualityPoint::scalars`], in its order, for the trained generator.
const QUALITY_TAGS: [&str; 7] = [
    "quality/fd_fmnist",
    "quality/inception_score",
    "quality/inception_score_std",
    "quality/kid",
    "quality/kid_std",
    "quality/precision",
    "quality/recall",
];
/// The same for G_ema.
const QUALITY_EMA_TAGS: [&str; 7] = [
    "quality_ema/fd_fmnist",
    "quality_ema/inception_score",
    "quality_ema/inception_score_std",
    "quality_ema/kid",
    "quality_ema/kid_std",
    "quality_ema/precision",
    "quality_ema/recall",
];

/// One quality measurement during training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QualityPoint {
    /// Fréchet distance to the Fashion-MNIST test set in the classifier's feature space.
    pub fd_fmnist: f64,
    /// Classifier Inception Score, mean over 10 splits.
    pub inception_score: f64,
    /// Its standard deviation over the splits.
    pub inception_score_std: f64,
    /// Kernel Inception Distance in the same features: unbiased MMD², mean over subsets.
    /// Absent in logs written before it was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<f64>,
    /// Its standard deviation over the subsets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid_std: Option<f64>,
    /// Fraction of samples inside the reference set's k-NN manifold (fidelity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<f64>,
    /// Fraction of reference images inside the samples' k-NN manifold (diversity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recall: Option<f64>,
}

impl QualityPoint {
    /// `(tag, value)` of every measured number, tags from `tags` in the order FD, IS, IS std,
    /// KID, KID std, precision, recall.
    fn scalars(&self, tags: [&'static str; 7]) -> Vec<(&'static str, f64)> {
        let values = [
            Some(self.fd_fmnist),
            Some(self.inception_score),
            Some(self.inception_score_std),
            self.kid,
            self.kid_std,
            self.precision,
            self.recall,
        ];
        tags.into_iter()
            .zip(values)
            .filter_map(|(tag, value)| value.map(|value| (tag, value)))
            .collect()
    }
}

/// The append-only metrics log. Each line is flushed when written, so a crash loses nothing
/// already logged.
#[derive(Debug)]
pub struct MetricsLog {
    path: PathBuf,
    file: File,
}

impl MetricsLog {
    /// Opens `path` for appending, creating it if needed.
    pub fn open(path: &Path) -> Result<Self, TrainError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| TrainError::io(path, source))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Appends one record as a JSON line and flushes it.
    pub fn append(&mut self, metrics: &StepMetrics) -> Result<(), TrainError> {
        let mut line = serde_json::to_string(metrics).map_err(TrainError::Json)?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|source| TrainError::io(&self.path, source))
    }
}

/// Every record in a metrics file, in order.
pub fn read_metrics(path: &Path) -> Result<Vec<StepMetrics>, TrainError> {
    let file = File::open(path).map_err(|source| TrainError::io(path, source))?;
    let mut records = Vec::new();
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| TrainError::io(path, source))?;
        if line.trim().is_empty() {
            continue;
        }
        let record = serde_json::from_str(&line).map_err(|err| TrainError::Metrics {
            path: path.to_path_buf(),
            line: index + 1,
            reason: err.to_string(),
        })?;
        records.push(record);
    }
    Ok(records)
}
