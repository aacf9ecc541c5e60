//! The n_critic training loop of WGAN and WGAN-GP.

use std::path::PathBuf;
use std::time::Instant;

use burn::module::{AutodiffModule, Module};
use burn::optim::GradientsParams;
use burn::record::Recorder;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use wgan_data::{ImageSet, ShuffledBatches};
use wgan_model::{Critic, Generator};

use crate::checkpoint::{
    CHECKPOINT_FORMAT, CheckpointError, CheckpointState, LoadedCheckpoint, list_checkpoints, prune_checkpoints,
    read_checkpoint, write_checkpoint,
};
use crate::clip::clip_parameters;
use crate::grid::write_grid;
use crate::metrics::{MetricsLog, read_metrics};
use crate::noise::{NoiseSource, Stream, data_order_seed, stream_rng};
use crate::optim::NetworkOptimizer;
use crate::plot::{plot_losses, plot_quality};
use crate::record::{CheckpointRecorder, decode_record};
use crate::run_dir::write_npy;
use crate::run_lock::RunLock;
use crate::step_timings::StepTimings;
use crate::{
    LipschitzConstraint, QualityPoint, QualityProbe, RunConfig, RunDir, StepMetrics, TrainError, TrainObserver,
    critic_loss,
};

/// Images in every sample grid (an 8×8 grid).
pub const GRID_IMAGES: usize = 64;
/// Tiles per grid row.
const GRID_COLUMNS: usize = 8;

/// What one critic step measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CriticStepMetrics {
    /// The loss minimised: `mean D(fake) − mean D(real) [+ λ·GP]`.
    pub loss: f64,
    /// `mean D(real) − mean D(fake)`.
    pub wasserstein_estimate: f64,
    /// The penalty without λ, for WGAN-GP.
    pub gradient_penalty: Option<f64>,
}

/// How [`Trainer::run`] ended.
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

/// Both networks, their optimizers, the data stream and every random stream of one run.
pub struct Trainer<B: AutodiffBackend> {
    config: RunConfig,
    run_dir: RunDir,
    device: B::Device,
    data: ImageSet,
    batches: ShuffledBatches,
    generator: Generator<B>,
    critic: Critic<B>,
    generator_optimizer: NetworkOptimizer<Generator<B>, B>,
    critic_optimizer: NetworkOptimizer<Critic<B>, B>,
    training_noise: NoiseSource,
    interpolation: NoiseSource,
    /// `[GRID_IMAGES, latent_dim]`, the noise behind every sample grid.
    fixed_noise: Vec<f32>,
    step: u64,
    history: Vec<StepMetrics>,
    metrics: MetricsLog,
    started: Instant,
    /// Training seconds before `started` (earlier segments of a resumed run).
    elapsed_before: f64,
    /// Held for the trainer's lifetime: one trainer per run directory.
    lock: RunLock,
    /// Measures sample quality every `schedule.eval_interval` steps.
    quality_probe: Option<Box<dyn QualityProbe<B::InnerBackend>>>,
    /// Time spent per phase since the last `take_timings`.
    timings: StepTimings,
}

/// A resumed trainer, and the checkpoints that were skipped because they could not be loaded.
pub struct Resumed<B: AutodiffBackend> {
    /// The trainer, at the checkpoint's step.
    pub trainer: Trainer<B>,
    /// The checkpoint it continues from; `None` when the run had not written one yet and
    /// starts over from step 0 (deterministic, so nothing is lost).
    pub checkpoint: Option<PathBuf>,
    /// Newer checkpoints that were rejected, with the reason.
    pub skipped: Vec<CheckpointError>,
}

fn module_bytes<B: Backend, M: Module<B>>(module: &M) -> Result<Vec<u8>, TrainError> {
    CheckpointRecorder::default()
        .record(module.clone().into_record(), ())
        .map_err(|err| TrainError::Internal(format!("cannot serialise a network: {err}")))
}

fn load_module<B: Backend, M: Module<B>>(module: M, bytes: Vec<u8>, device: &B::Device) -> Result<M, String> {
    Ok(module.load_record(decode_record(bytes, device)?))
}

/// First value of a one-element tensor, as f64.
fn scalar<B: burn::tensor::backend::Backend>(tensor: Tensor<B, 1>) -> f64 {
    tensor
        .into_data()
        .convert::<f64>()
        .to_vec::<f64>()
        .ok()
        .and_then(|v| v.first().copied())
        .unwrap_or(f64::NAN)
}

impl<B: AutodiffBackend> Trainer<B> {
    /// Starts a new run in `run_dir`: builds both networks from the run seed, writes the
    /// resolved config and the fixed sample noise.
    pub fn new(config: RunConfig, data: ImageSet, run_dir: RunDir, device: B::Device) -> Result<Self, TrainError> {
        let lock = RunLock::acquire(run_dir.root())?;
        Self::start(config, data, run_dir, device, lock)
    }

    /// A run at step 0 in `run_dir`, whose lock is already held.
    fn start(
        config: RunConfig,
        data: ImageSet,
        run_dir: RunDir,
        device: B::Device,
        lock: RunLock,
    ) -> Result<Self, TrainError> {
        let model = &config.model;
        if data.size != model.image_size {
            return Err(TrainError::Internal(format!(
                "data was resized to {}×{}, but model.image_size is {}",
                data.size, data.size, model.image_size
            )));
        }
        let mut weights = stream_rng(config.seed, Stream::Weights);
        let generator = Generator::new(model, &mut weights, &device)?;
        let critic = Critic::new(model, &mut weights, &device)?;
        let batches = ShuffledBatches::new(data.len(), config.data.batch_size, data_order_seed(config.seed))?;
        let fixed_noise =
            NoiseSource::new(config.seed, Stream::FixedNoise).normal_values(GRID_IMAGES, model.latent_dim);
        let config_path = run_dir.config();
        std::fs::write(&config_path, config.to_toml()).map_err(|source| TrainError::io(&config_path, source))?;
        write_npy(
            &run_dir.fixed_noise(),
            &fixed_noise,
            &[GRID_IMAGES as u64, model.latent_dim as u64],
        )?;
        let state = CheckpointState {
            format: CHECKPOINT_FORMAT,
            step: 0,
            elapsed_s: 0.0,
            training_noise: NoiseSource::new(config.seed, Stream::TrainingNoise),
            interpolation: NoiseSource::new(config.seed, Stream::Interpolation),
            shuffle: batches.state().clone(),
            fixed_noise,
            model: model.clone(),
            checksums: Vec::new(),
        };
        let parts = Restored {
            generator,
            critic,
            generator_optimizer: NetworkOptimizer::new(&config.optimizer.generator),
            critic_optimizer: NetworkOptimizer::new(&config.optimizer.critic),
            batches,
            state,
        };
        Self::assemble(config, data, run_dir, device, parts, Vec::new(), lock)
    }

    /// Continues the run in `run_dir` from its newest checkpoint that loads, with `config`
    /// (the run's resolved config, `schedule.steps` possibly extended). Metrics logged after
    /// that checkpoint by an interrupted process are dropped, so the log reads as one run.
    pub fn resume(
        config: RunConfig,
        data: ImageSet,
        run_dir: RunDir,
        device: B::Device,
    ) -> Result<Resumed<B>, TrainError> {
        let lock = RunLock::acquire(run_dir.root())?;
        let checkpoints = run_dir.checkpoints_dir();
        let found = list_checkpoints(&checkpoints);
        if found.is_empty() {
            // Stopped before its first checkpoint: replaying from the seed is exact.
            rewrite_metrics(&run_dir.metrics(), &[])?;
            let trainer = Self::start(config, data, run_dir, device, lock)?;
            return Ok(Resumed {
                trainer,
                checkpoint: None,
                skipped: Vec::new(),
            });
        }
        let mut skipped = Vec::new();
        let fresh = |config: &RunConfig| -> Result<(Generator<B>, Critic<B>), TrainError> {
            let mut weights = stream_rng(config.seed, Stream::Weights);
            Ok((
                Generator::new(&config.model, &mut weights, &device)?,
                Critic::new(&config.model, &mut weights, &device)?,
            ))
        };
        for (_, path) in found {
            let loaded = read_checkpoint(&path, &config.model);
            let restored = loaded.and_then(|loaded| {
                let (generator, critic) = fresh(&config).map_err(|err| CheckpointError::Record {
                    path: path.clone(),
                    reason: err.to_string(),
                })?;
                Self::restore(config.clone(), &data, generator, critic, loaded, &device)
            });
            match restored {
                Ok(parts) => {
                    // Keep the log up to the checkpoint's step; a torn last line from a crash is dropped.
                    let metrics_path = run_dir.metrics();
                    let history: Vec<StepMetrics> = read_metrics(&metrics_path)
                        .or_else(|_| read_metrics_lenient(&metrics_path))?
                        .into_iter()
                        .filter(|m| m.step <= parts.state.step)
                        .collect();
                    rewrite_metrics(&metrics_path, &history)?;
                    let config_path = run_dir.config();
                    std::fs::write(&config_path, config.to_toml())
                        .map_err(|source| TrainError::io(&config_path, source))?;
                    let trainer = Self::assemble(config, data, run_dir, device, parts, history, lock)?;
                    return Ok(Resumed {
                        trainer,
                        checkpoint: Some(path),
                        skipped,
                    });
                }
                Err(err) => skipped.push(err),
            }
        }
        Err(TrainError::NoCheckpoint {
            path: checkpoints,
            tried: skipped.iter().map(ToString::to_string).collect(),
        })
    }

    /// Decodes a verified checkpoint into networks, optimizers and streams.
    fn restore(
        config: RunConfig,
        data: &ImageSet,
        generator: Generator<B>,
        critic: Critic<B>,
        loaded: LoadedCheckpoint,
        device: &B::Device,
    ) -> Result<Restored<B>, CheckpointError> {
        let LoadedCheckpoint { path, state, files } = loaded;
        let record_error = |file: &str| {
            let path = path.join(file);
            move |reason: String| CheckpointError::Record { path, reason }
        };
        let mut files = files.into_iter();
        let mut next = || files.next().unwrap_or_default();
        let generator = load_module(generator, next(), device).map_err(record_error("generator.bin"))?;
        let critic = load_module(critic, next(), device).map_err(record_error("critic.bin"))?;
        let generator_optimizer = NetworkOptimizer::new(&config.optimizer.generator)
            .load_bytes(next(), device)
            .map_err(record_error("generator-optimizer.bin"))?;
        let critic_optimizer = NetworkOptimizer::new(&config.optimizer.critic)
            .load_bytes(next(), device)
            .map_err(record_error("critic-optimizer.bin"))?;
        let batches = ShuffledBatches::restore(
            data.len(),
            config.data.batch_size,
            data_order_seed(config.seed),
            state.shuffle.clone(),
        )
        .map_err(|err| CheckpointError::State {
            path: path.join("state.json"),
            reason: err.to_string(),
        })?;
        Ok(Restored {
            generator,
            critic,
            generator_optimizer,
            critic_optimizer,
            batches,
            state,
        })
    }

    /// A trainer from its parts; `history` is the metrics already logged.
    fn assemble(
        config: RunConfig,
        data: ImageSet,
        run_dir: RunDir,
        device: B::Device,
        parts: Restored<B>,
        history: Vec<StepMetrics>,
        lock: RunLock,
    ) -> Result<Self, TrainError> {
        let Restored {
            generator,
            critic,
            generator_optimizer,
            critic_optimizer,
            batches,
            state,
        } = parts;
        Ok(Self {
            metrics: MetricsLog::open(&run_dir.metrics())?,
            config,
            run_dir,
            device,
            data,
            batches,
            generator,
            critic,
            generator_optimizer,
            critic_optimizer,
            training_noise: state.training_noise,
            interpolation: state.interpolation,
            fixed_noise: state.fixed_noise,
            step: state.step,
            history,
            started: Instant::now(),
            elapsed_before: state.elapsed_s,
            lock,
            quality_probe: None,
            timings: StepTimings::default(),
        })
    }

    /// Writes a checkpoint of the current state and prunes old ones; returns its path.
    pub fn save_checkpoint(&self) -> Result<PathBuf, TrainError> {
        let optimizer_bytes = |bytes: Result<Vec<u8>, String>| {
            bytes.map_err(|err| TrainError::Internal(format!("cannot serialise an optimizer: {err}")))
        };
        let files = [
            module_bytes(&self.generator)?,
            module_bytes(&self.critic)?,
            optimizer_bytes(self.generator_optimizer.to_bytes())?,
            optimizer_bytes(self.critic_optimizer.to_bytes())?,
        ];
        let state = CheckpointState {
            format: CHECKPOINT_FORMAT,
            step: self.step,
            elapsed_s: self.elapsed(),
            training_noise: self.training_noise.clone(),
            interpolation: self.interpolation.clone(),
            shuffle: self.batches.state().clone(),
            fixed_noise: self.fixed_noise.clone(),
            model: self.config.model.clone(),
            checksums: Vec::new(),
        };
        let checkpoints = self.run_dir.checkpoints_dir();
        let path = write_checkpoint(&checkpoints, state, &files).map_err(|source| TrainError::CheckpointWrite {
            step: self.step,
            reason: Box::new(source),
        })?;
        prune_checkpoints(&checkpoints, self.config.schedule.keep_checkpoints)?;
        Ok(path)
    }

    fn elapsed(&self) -> f64 {
        self.elapsed_before + self.started.elapsed().as_secs_f64()
    }

    /// Trains until `schedule.steps`, writing metrics every step, grids and plots every
    /// `schedule.sample_interval` steps, checkpoints every `schedule.checkpoint_interval`
    /// steps, and all three at the end. When the observer asks to stop, the current step is
    /// finished and checkpointed first.
    pub fn run(&mut self, observer: &mut dyn TrainObserver) -> Result<RunOutcome, TrainError> {
        let schedule = self.config.schedule.clone();
        if schedule.eval_interval > 0 && self.quality_probe.is_none() {
            return Err(TrainError::Quality {
                step: self.step,
                reason: "schedule.eval_interval is set but no quality measurement is attached".into(),
            });
        }
        observer.started(self.step, schedule.steps);
        while self.step < schedule.steps {
            let mut metrics = self.train_step()?;
            let measure = self.step.is_multiple_of(schedule.eval_interval) || self.step == schedule.steps;
            if schedule.eval_interval > 0 && measure {
                metrics.quality = Some(self.measure_quality()?);
            }
            self.metrics.append(&metrics)?;
            self.history.push(metrics.clone());
            observer.step(&metrics);
            let last = self.step == schedule.steps;
            if self.step.is_multiple_of(schedule.sample_interval) || last {
                self.write_artifacts(observer)?;
            }
            let stop = observer.should_stop();
            if self.step.is_multiple_of(schedule.checkpoint_interval) || last || stop {
                let path = self.save_checkpoint()?;
                observer.wrote(&path);
            }
            if stop && !last {
                return Ok(RunOutcome::Stopped { step: self.step });
            }
        }
        observer.finished(self.history.last());
        Ok(RunOutcome::Finished)
    }

    /// Attaches the quality measurement that runs every `schedule.eval_interval` steps.
    pub fn set_quality_probe(&mut self, probe: Box<dyn QualityProbe<B::InnerBackend>>) {
        self.quality_probe = Some(probe);
    }

    /// Measures the current generator with the attached probe.
    fn measure_quality(&mut self) -> Result<QualityPoint, TrainError> {
        let step = self.step;
        let generator = self.generator.valid();
        let model = &self.config.model;
        let samples = self.config.schedule.eval_samples;
        let probe = self.quality_probe.as_mut().ok_or_else(|| TrainError::Quality {
            step,
            reason: "no quality measurement is attached".into(),
        })?;
        probe
            .measure(&generator, model.latent_dim, samples)
            .map_err(|reason| TrainError::Quality { step, reason })
    }

    /// One generator step: `n_critic` critic steps, then one generator step.
    pub fn train_step(&mut self) -> Result<StepMetrics, TrainError> {
        let n_critic = self.config.schedule.n_critic;
        let (mut loss, mut wasserstein, mut penalty) = (0.0, 0.0, None::<f64>);
        for _ in 0..n_critic {
            let critic = self.critic_step()?;
            loss += critic.loss / f64::from(n_critic);
            wasserstein += critic.wasserstein_estimate / f64::from(n_critic);
            if let Some(gp) = critic.gradient_penalty {
                penalty = Some(penalty.unwrap_or(0.0) + gp / f64::from(n_critic));
            }
        }
        let generator_loss = self.generator_step()?;
        self.step += 1;
        let metrics = StepMetrics {
            step: self.step,
            critic_loss: loss,
            generator_loss,
            wasserstein_estimate: wasserstein,
            gradient_penalty: penalty,
            elapsed_s: self.elapsed(),
            quality: None,
        };
        let checks = [
            ("critic_loss", loss),
            ("generator_loss", generator_loss),
            ("gradient_penalty", penalty.unwrap_or(0.0)),
        ];
        if let Some((name, value)) = checks.into_iter().find(|(_, v)| !v.is_finite()) {
            return Err(TrainError::NonFinite {
                step: self.step,
                loss: name,
                value,
            });
        }
        Ok(metrics)
    }

    /// One critic update on a fresh real batch and a fresh fake batch; with weight clipping,
    /// the critic's parameters are clamped afterwards.
    pub fn critic_step(&mut self) -> Result<CriticStepMetrics, TrainError> {
        let started = Instant::now();
        let batch_size = self.config.data.batch_size;
        let real = self.data.batch::<B>(&self.batches.next_batch(), &self.device);
        let noise = self
            .training_noise
            .normal::<B>(batch_size, self.config.model.latent_dim, &self.device);
        let penalty_at = match self.config.lipschitz {
            LipschitzConstraint::GradientPenalty { lambda } => {
                Some((self.interpolation.uniform::<B>(batch_size, &self.device), lambda))
            }
            LipschitzConstraint::WeightClip { .. } => None,
        };
        let data_ready = Instant::now();
        self.timings.data += data_ready - started;
        // The fake batch trains the critic only: generated with the generator's parameters
        // untracked, so autodiff records nothing (BatchNorm still uses and updates batch
        // statistics, as in training).
        let fake = self.generator.clone().no_grad().forward(noise);
        let loss = critic_loss(&self.critic, real, fake, penalty_at)?;
        let metrics = CriticStepMetrics {
            loss: scalar(loss.total.clone()),
            wasserstein_estimate: scalar(loss.wasserstein),
            gradient_penalty: loss.gradient_penalty.map(scalar),
        };
        let grads = GradientsParams::from_grads(loss.total.backward(), &self.critic);
        let learning_rate = self.config.optimizer.critic.learning_rate();
        self.critic = self.critic_optimizer.step(learning_rate, self.critic.clone(), grads);
        if let LipschitzConstraint::WeightClip { clip_value } = self.config.lipschitz {
            self.critic = clip_parameters(self.critic.clone(), clip_value);
        }
        self.timings.critic += data_ready.elapsed();
        Ok(metrics)
    }

    /// One generator update with `L_G = −mean D(G(z))`; only the generator is stepped.
    /// Returns `L_G`.
    pub fn generator_step(&mut self) -> Result<f64, TrainError> {
        let started = Instant::now();
        let noise =
            self.training_noise
                .normal::<B>(self.config.data.batch_size, self.config.model.latent_dim, &self.device);
        let data_ready = Instant::now();
        self.timings.data += data_ready - started;
        let fake = self.generator.forward(noise);
        // The critic's parameters are untracked here: the backward pass computes no weight
        // gradients for them, only the gradient through the critic to the fake images.
        let loss = self.critic.clone().no_grad().try_forward(fake)?.mean().neg();
        let value = scalar(loss.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &self.generator);
        let learning_rate = self.config.optimizer.generator.learning_rate();
        self.generator = self
            .generator_optimizer
            .step(learning_rate, self.generator.clone(), grads);
        self.timings.generator += data_ready.elapsed();
        Ok(value)
    }

    /// The time spent per phase since the last call, and a fresh start.
    pub fn take_timings(&mut self) -> StepTimings {
        std::mem::take(&mut self.timings)
    }

    /// Generates the fixed-noise batch with BatchNorm in inference mode.
    ///
    /// # Shapes
    /// - output: `[GRID_IMAGES, channels, image_size, image_size]`, pixels in [-1, 1]
    pub fn fixed_samples(&self) -> Tensor<B::InnerBackend, 4> {
        let generator = self.generator.valid();
        let latent = self.config.model.latent_dim;
        let data = TensorData::new(self.fixed_noise.clone(), [GRID_IMAGES, latent]);
        generator.forward(Tensor::from_data(data, &self.device))
    }

    /// Writes the current sample grid and redraws the loss plot. A plot that cannot be drawn
    /// is a warning, not a reason to stop training.
    pub fn write_artifacts(&self, observer: &mut dyn TrainObserver) -> Result<Vec<PathBuf>, TrainError> {
        let samples = self.fixed_samples().into_data().convert::<f32>();
        let pixels = samples
            .to_vec::<f32>()
            .map_err(|err| TrainError::Internal(format!("{err:?}")))?;
        let grid = self.run_dir.sample_grid(self.step);
        let model = &self.config.model;
        write_grid(&grid, &pixels, model.channels, model.image_size, GRID_COLUMNS)?;
        observer.wrote(&grid);
        let mut written = vec![grid];
        type Plot = fn(&std::path::Path, &[StepMetrics]) -> Result<(), TrainError>;
        let mut plots: Vec<(PathBuf, Plot)> = vec![(self.run_dir.loss_plot(), plot_losses)];
        if self.history.iter().any(|m| m.quality.is_some()) {
            plots.push((self.run_dir.quality_plot(), plot_quality));
        }
        // A plot that cannot be drawn is worth a warning, not the run.
        for (path, plot) in plots {
            match plot(&path, &self.history) {
                Ok(()) => {
                    observer.wrote(&path);
                    written.push(path);
                }
                Err(err) => observer.warning(&err.to_string()),
            }
        }
        Ok(written)
    }

    /// The owner named in a lock file this trainer took over because its process had died.
    pub fn stale_lock_owner(&self) -> Option<&str> {
        self.lock.stale_owner()
    }

    /// Generator steps completed.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The generator being trained.
    pub fn generator(&self) -> &Generator<B> {
        &self.generator
    }

    /// The critic being trained.
    pub fn critic(&self) -> &Critic<B> {
        &self.critic
    }

    /// The run configuration.
    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    /// Every step's metrics so far.
    pub fn history(&self) -> &[StepMetrics] {
        &self.history
    }
}

/// Everything a checkpoint restores (or a new run starts from).
struct Restored<B: AutodiffBackend> {
    generator: Generator<B>,
    critic: Critic<B>,
    generator_optimizer: NetworkOptimizer<Generator<B>, B>,
    critic_optimizer: NetworkOptimizer<Critic<B>, B>,
    batches: ShuffledBatches,
    state: CheckpointState,
}

/// The records of a metrics file up to its first unreadable line (a line torn by a crash).
fn read_metrics_lenient(path: &std::path::Path) -> Result<Vec<StepMetrics>, TrainError> {
    let text = std::fs::read_to_string(path).map_err(|source| TrainError::io(path, source))?;
    Ok(text.lines().map_while(|line| serde_json::from_str(line).ok()).collect())
}

/// Replaces a metrics file with `records`, atomically.
fn rewrite_metrics(path: &std::path::Path, records: &[StepMetrics]) -> Result<(), TrainError> {
    let mut text = String::new();
    for record in records {
        text.push_str(&serde_json::to_string(record).map_err(|err| TrainError::Internal(err.to_string()))?);
        text.push('\n');
    }
    let partial = path.with_extension("jsonl.partial");
    std::fs::write(&partial, text).map_err(|source| TrainError::io(&partial, source))?;
    std::fs::rename(&partial, path).map_err(|source| TrainError::io(path, source))
}
