//! The n_critic training loop of WGAN and WGAN-GP.

use std::path::PathBuf;
use std::time::Instant;

use burn::module::AutodiffModule;
use burn::optim::GradientsParams;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Tensor, TensorData};
use wgan_data::{ImageSet, ShuffledBatches};
use wgan_model::{Critic, Generator};

use crate::clip::clip_parameters;
use crate::grid::write_grid;
use crate::metrics::MetricsLog;
use crate::noise::{NoiseSource, Stream, stream_rng};
use crate::optim::NetworkOptimizer;
use crate::plot::plot_losses;
use crate::run_dir::write_npy;
use crate::{LipschitzConstraint, RunConfig, RunDir, StepMetrics, TrainError, TrainObserver, critic_loss};

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
}

/// First value of a one-element tensor, as f64.
fn scalar<B: burn::tensor::backend::Backend>(tensor: Tensor<B, 1>) -> f64 {
    tensor.into_data().convert::<f64>().to_vec::<f64>().ok().and_then(|v| v.first().copied()).unwrap_or(f64::NAN)
}

impl<B: AutodiffBackend> Trainer<B> {
    /// Starts a new run in `run_dir`: builds both networks from the run seed, writes the
    /// resolved config and the fixed sample noise.
    pub fn new(config: RunConfig, data: ImageSet, run_dir: RunDir, device: B::Device) -> Result<Self, TrainError> {
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
        let batches = ShuffledBatches::new(data.len(), config.data.batch_size, config.seed)?;
        let fixed_noise = NoiseSource::new(config.seed, Stream::FixedNoise).normal_values(GRID_IMAGES, model.latent_dim);
        let config_path = run_dir.config();
        std::fs::write(&config_path, config.to_toml()).map_err(|source| TrainError::io(&config_path, source))?;
        write_npy(&run_dir.fixed_noise(), &fixed_noise, &[GRID_IMAGES as u64, model.latent_dim as u64])?;
        let metrics = MetricsLog::open(&run_dir.metrics())?;
        Ok(Self {
            generator_optimizer: NetworkOptimizer::new(&config.optimizer.generator),
            critic_optimizer: NetworkOptimizer::new(&config.optimizer.critic),
            training_noise: NoiseSource::new(config.seed, Stream::TrainingNoise),
            interpolation: NoiseSource::new(config.seed, Stream::Interpolation),
            config,
            run_dir,
            device,
            data,
            batches,
            generator,
            critic,
            fixed_noise,
            step: 0,
            history: Vec::new(),
            metrics,
            started: Instant::now(),
        })
    }

    /// Trains until `schedule.steps`, writing metrics every step and grids and plots every
    /// `schedule.sample_interval` steps and at the end.
    pub fn run(&mut self, observer: &mut dyn TrainObserver) -> Result<(), TrainError> {
        let schedule = self.config.schedule.clone();
        observer.started(self.step, schedule.steps);
        while self.step < schedule.steps {
            let metrics = self.train_step()?;
            self.metrics.append(&metrics)?;
            self.history.push(metrics.clone());
            observer.step(&metrics);
            if self.step % schedule.sample_interval == 0 || self.step == schedule.steps {
                self.write_artifacts(observer)?;
            }
        }
        observer.finished(self.history.last());
        Ok(())
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
            elapsed_s: self.started.elapsed().as_secs_f64(),
        };
        let checks = [("critic_loss", loss), ("generator_loss", generator_loss), ("gradient_penalty", penalty.unwrap_or(0.0))];
        if let Some((name, value)) = checks.into_iter().find(|(_, v)| !v.is_finite()) {
            return Err(TrainError::NonFinite { step: self.step, loss: name, value });
        }
        Ok(metrics)
    }

    /// One critic update on a fresh real batch and a fresh fake batch; with weight clipping,
    /// the critic's parameters are clamped afterwards.
    pub fn critic_step(&mut self) -> Result<CriticStepMetrics, TrainError> {
        let batch_size = self.config.data.batch_size;
        let real = self.data.batch::<B>(&self.batches.next_batch(), &self.device);
        let noise = self.training_noise.normal::<B>(batch_size, self.config.model.latent_dim, &self.device);
        // The fake batch trains the critic only: detached, no gradient reaches the generator.
        let fake = self.generator.forward(noise).detach();
        let penalty_at = match self.config.lipschitz {
            LipschitzConstraint::GradientPenalty { lambda } => {
                Some((self.interpolation.uniform::<B>(batch_size, &self.device), lambda))
            }
            LipschitzConstraint::WeightClip { .. } => None,
        };
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
        Ok(metrics)
    }

    /// One generator update with `L_G = −mean D(G(z))`; only the generator is stepped.
    /// Returns `L_G`.
    pub fn generator_step(&mut self) -> Result<f64, TrainError> {
        let noise = self.training_noise.normal::<B>(self.config.data.batch_size, self.config.model.latent_dim, &self.device);
        let fake = self.generator.forward(noise);
        let loss = self.critic.try_forward(fake)?.mean().neg();
        let value = scalar(loss.clone());
        // The critic's parameters receive gradients too; only the generator's are kept.
        let grads = GradientsParams::from_grads(loss.backward(), &self.generator);
        let learning_rate = self.config.optimizer.generator.learning_rate();
        self.generator = self.generator_optimizer.step(learning_rate, self.generator.clone(), grads);
        Ok(value)
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
        let pixels = samples.to_vec::<f32>().map_err(|err| TrainError::Internal(format!("{err:?}")))?;
        let grid = self.run_dir.sample_grid(self.step);
        let model = &self.config.model;
        write_grid(&grid, &pixels, model.channels, model.image_size, GRID_COLUMNS)?;
        observer.wrote(&grid);
        let mut written = vec![grid];
        let plot = self.run_dir.loss_plot();
        match plot_losses(&plot, &self.history) {
            Ok(()) => {
                observer.wrote(&plot);
                written.push(plot);
            }
            Err(err) => observer.warning(&err.to_string()),
        }
        Ok(written)
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
