//! The run directory: one predictable place for everything a run writes.
//!
//! ```text
//! RUN/config.toml            the fully resolved config
//! RUN/metrics.jsonl          one JSON object per generator step
//! RUN/samples/step-NNNNNN.png  8×8 grids from the fixed noise
//! RUN/samples/fixed-noise.npy  that noise, [64, latent_dim] f32
//! RUN/plots/losses.png       loss curves
//! RUN/plots/quality.png      FD-FMNIST and Inception Score (with schedule.eval_interval)
//! RUN/plots/*.svg            the same plots as SVG
//! RUN/tensorboard/           TensorBoard event files (logging.tensorboard)
//! RUN/summary.json           final step, final and best quality, wall time, device
//! RUN/checkpoints/step-NNNNNN/ networks, optimizers, random streams, data order
//! ```

use std::path::{Path, PathBuf};

use crate::TrainError;

/// Paths inside one run directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// The run directory at `root` (nothing is created).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Creates the directory tree for a new run; fails if `root` already holds one.
    pub fn create(root: impl Into<PathBuf>) -> Result<Self, TrainError> {
        let dir = Self::new(root);
        if dir.metrics().exists() {
            return Err(TrainError::RunExists {
                path: dir.root.clone(),
                marker: "metrics.jsonl",
            });
        }
        for path in [dir.root.clone(), dir.samples_dir(), dir.plots_dir()] {
            std::fs::create_dir_all(&path).map_err(|source| TrainError::io(&path, source))?;
        }
        Ok(dir)
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `config.toml`.
    pub fn config(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    /// `metrics.jsonl`.
    pub fn metrics(&self) -> PathBuf {
        self.root.join("metrics.jsonl")
    }

    /// `samples/`.
    pub fn samples_dir(&self) -> PathBuf {
        self.root.join("samples")
    }

    /// `samples/step-NNNNNN.png`.
    pub fn sample_grid(&self, step: u64) -> PathBuf {
        self.samples_dir().join(format!("step-{step:06}.png"))
    }

    /// `samples/ema-step-NNNNNN.png`, G_ema's grid.
    pub fn ema_sample_grid(&self, step: u64) -> PathBuf {
        self.samples_dir().join(format!("ema-step-{step:06}.png"))
    }

    /// `samples/fixed-noise.npy`.
    pub fn fixed_noise(&self) -> PathBuf {
        self.samples_dir().join("fixed-noise.npy")
    }

    /// `checkpoints/`.
    pub fn checkpoints_dir(&self) -> PathBuf {
        self.root.join("checkpoints")
    }

    /// `tensorboard/`.
    pub fn tensorboard_dir(&self) -> PathBuf {
        self.root.join("tensorboard")
    }

    /// `summary.json`.
    pub fn summary(&self) -> PathBuf {
        self.root.join("summary.json")
    }

    /// `plots/`.
    pub fn plots_dir(&self) -> PathBuf {
        self.root.join("plots")
    }

    /// `plots/losses.png`.
    pub fn loss_plot(&self) -> PathBuf {
        self.plots_dir().join("losses.png")
    }

    /// `plots/quality.png`.
    pub fn quality_plot(&self) -> PathBuf {
        self.plots_dir().join("quality.png")
    }
}

/// Replaces `path` with `bytes` atomically: written beside it as `NAME.partial`, then
/// renamed over it, so a process killed meanwhile leaves the old file or the new one.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    std::fs::write(&partial, bytes).map_err(|source| TrainError::io(&partial, source))?;
    std::fs::rename(&partial, path).map_err(|source| TrainError::io(path, source))
}

/// Writes `values` as a row-major f32 NPY array of `shape`.
pub fn write_npy(path: &Path, values: &[f32], shape: &[u64]) -> Result<(), TrainError> {
    let io = |source| TrainError::io(path, source);
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    use npyz::WriterBuilder;
    let mut writer = npyz::WriteOptions::<f32>::new()
        .default_dtype()
        .shape(shape)
        .writer(&mut file)
        .begin_nd()
        .map_err(io)?;
    writer.extend(values.iter().copied()).map_err(io)?;
    writer.finish().map_err(io)?;
    std::io::Write::flush(&mut file).map_err(io)
}

/// Reads an f32 NPY array: `(values, shape)`.
pub fn read_npy(path: &Path) -> Result<(Vec<f32>, Vec<u64>), TrainError> {
    let bad = |error: std::io::Error| TrainError::Npy {
        path: path.to_path_buf(),
        error,
    };
    let bytes = std::fs::read(path).map_err(|source| TrainError::io(path, source))?;
    let npy = npyz::NpyFile::new(&bytes[..]).map_err(bad)?;
    let shape = npy.shape().to_vec();
    let values = npy.into_vec::<f32>().map_err(bad)?;
    Ok((values, shape))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npy");
        let values: Vec<f32> = (0..6).map(|v| v as f32 * 0.5).collect();
        write_npy(&path, &values, &[2, 3]).unwrap();
        assert_eq!(read_npy(&path).unwrap(), (values, vec![2, 3]));
    }

    #[test]
    fn a_used_run_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::create(dir.path().join("run")).unwrap();
        std::fs::write(run.metrics(), "").unwrap();
        let err = RunDir::create(run.root()).unwrap_err();
        assert!(err.to_string().contains("already holds a run"), "{err}");
    }
}
