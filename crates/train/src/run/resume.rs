//! Starting a run and continuing one: the run directory, the lock and the metrics log set
//! up around a new or restored engine.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::backend::AutodiffBackend;
use wgan_data::ImageSet;

use super::dir::{write_atomically, write_npy};
use super::metrics::{MetricsLog, StepMetrics, read_metrics};
use super::{GRID_IMAGES, Run, RunDir, RunLock, RunSink, TensorBoardSink};
use crate::checkpoint::{CheckpointError, Restored, RunProgress, restore_newest};
use crate::{Engine, NoiseSource, RunConfig, Stream, TrainError};

/// A resumed run, and the checkpoints that were skipped because they could not be loaded.
pub struct Resumed<B: AutodiffBackend> {
    /// The run, at the checkpoint's step.
    pub run: Run<B>,
    /// The checkpoint it continues from; `None` when the run had not written one yet and
    /// starts over from step 0 (deterministic, so nothing is lost).
    pub checkpoint: Option<PathBuf>,
    /// Newer checkpoints that were rejected, with the reason.
    pub skipped: Vec<CheckpointError>,
}

impl<B: AutodiffBackend> Run<B> {
    /// Starts a new run in `dir`: builds the engine from the run seed, writes the resolved
    /// config and the fixed sample noise.
    pub fn create(config: RunConfig, data: ImageSet, dir: RunDir, device: B::Device) -> Result<Self, TrainError> {
        let lock = RunLock::acquire(dir.root())?;
        Self::start(config, data, dir, device, lock)
    }

    /// A run at step 0 in `dir`, whose lock is already held.
    fn start(
        config: RunConfig,
        data: ImageSet,
        dir: RunDir,
        device: B::Device,
        lock: RunLock,
    ) -> Result<Self, TrainError> {
        let latent_dim = config.model.latent_dim;
        let fixed_noise = NoiseSource::new(config.seed, Stream::FixedNoise).normal_values(GRID_IMAGES, latent_dim);
        let engine = Engine::new(config, data, device)?;
        write_config(&dir, engine.config())?;
        write_npy(
            &dir.fixed_noise(),
            &fixed_noise,
            &[GRID_IMAGES as u64, latent_dim as u64],
        )?;
        let progress = RunProgress {
            elapsed_s: 0.0,
            fixed_noise,
        };
        Self::assemble(engine, dir, lock, progress, Vec::new(), None)
    }

    /// Continues the run in `dir` from its newest checkpoint that loads, with `config` (the
    /// run's resolved config, `schedule.steps` possibly extended). Metrics logged after that
    /// checkpoint by an interrupted process are dropped, so the log reads as one run.
    pub fn resume(config: RunConfig, data: ImageSet, dir: RunDir, device: B::Device) -> Result<Resumed<B>, TrainError> {
        let lock = RunLock::acquire(dir.root())?;
        let (restored, skipped) = restore_newest(&dir.checkpoints_dir(), &config, data.len(), &device)?;
        let Some(Restored { state, progress, path }) = restored else {
            // Stopped before its first checkpoint: replaying from the seed is exact.
            rewrite_metrics(&dir.metrics(), &[])?;
            return Ok(Resumed {
                run: Self::start(config, data, dir, device, lock)?,
                checkpoint: None,
                skipped,
            });
        };
        // Keep the log up to the checkpoint's step; a torn last line from a crash is dropped.
        let metrics_path = dir.metrics();
        let history: Vec<StepMetrics> = read_metrics(&metrics_path)
            .or_else(|_| read_metrics_lenient(&metrics_path))?
            .into_iter()
            .filter(|m| m.step <= state.step)
            .collect();
        rewrite_metrics(&metrics_path, &history)?;
        let engine = Engine::from_state(config, data, device, state)?;
        write_config(&dir, engine.config())?;
        let step = engine.step();
        Ok(Resumed {
            run: Self::assemble(engine, dir, lock, progress, history, Some(step))?,
            checkpoint: Some(path),
            skipped,
        })
    }

    /// A run from its parts; `history` is the metrics already logged, `resumed_at` the
    /// checkpoint's step for a resumed run.
    fn assemble(
        engine: Engine<B>,
        dir: RunDir,
        lock: RunLock,
        progress: RunProgress,
        history: Vec<StepMetrics>,
        resumed_at: Option<u64>,
    ) -> Result<Self, TrainError> {
        let mut sinks: Vec<Box<dyn RunSink>> = vec![Box::new(MetricsLog::open(&dir.metrics())?)];
        if engine.config().logging.tensorboard {
            let tensorboard = TensorBoardSink::open(&dir.tensorboard_dir(), resumed_at, engine.config())?;
            sinks.push(Box::new(tensorboard));
        }
        let device = format!("{:?}", engine.device());
        Ok(Self {
            sinks,
            engine,
            dir,
            lock,
            history,
            fixed_noise: progress.fixed_noise,
            started: Instant::now(),
            elapsed_before: progress.elapsed_s,
            last_step_at: Instant::now(),
            device,
            quality_probe: None,
        })
    }
}

/// Writes the resolved config into the run directory, atomically: a run killed while
/// writing it keeps the old file or none, never a torn one that `--resume` cannot read.
fn write_config(dir: &RunDir, config: &RunConfig) -> Result<(), TrainError> {
    write_atomically(&dir.config(), config.to_toml().as_bytes())
}

/// The records of a metrics file up to its first unreadable line (a line torn by a crash).
fn read_metrics_lenient(path: &Path) -> Result<Vec<StepMetrics>, TrainError> {
    let text = std::fs::read_to_string(path).map_err(|source| TrainError::io(path, source))?;
    Ok(text.lines().map_while(|line| serde_json::from_str(line).ok()).collect())
}

/// Replaces a metrics file with `records`, atomically.
fn rewrite_metrics(path: &Path, records: &[StepMetrics]) -> Result<(), TrainError> {
    let mut text = String::new();
    for record in records {
        text.push_str(&serde_json::to_string(record).map_err(TrainError::Json)?);
        text.push('\n');
    }
    write_atomically(path, text.as_bytes())
}
