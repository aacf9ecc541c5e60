//! The training engine: both networks, their optimizers, the random streams, the data order
//! and the step count, and the two updates that move them ([`Engine::critic_step`],
//! [`Engine::generator_step`]).
//!
//! The engine knows nothing of run directories, logs, checkpoints on disk or wall-clock
//! time; `crate::run` drives it and persists it, and `wgan bench` times it directly.

mod clip;
mod ema;
mod losses;
mod noise;
mod spectral;
mod state;
mod step;
mod timings;

use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use wgan_data::ImageSet;
use wgan_model::{Critic, Generator};

use crate::distributed::Replica;
use crate::{EmaBatchNorm, RunConfig, TrainError};

pub use clip::clip_parameters;
pub use ema::{blend_generator, detached_copy, recompute_batch_norm};

pub use losses::{
    CriticLoss, PenaltyTerm, critic_loss, gradient_penalty, penalty_points, sample_norm, squared_sample_norm,
};
pub use noise::{NoiseSource, Stream, data_order_seed, stream_rng};
pub use state::EngineState;
pub use step::{CriticStepValues, TrainStepMetrics};
pub use timings::StepTimings;

/// A training run's state and its updates, on backend `B`.
pub struct Engine<B: AutodiffBackend> {
    config: RunConfig,
    device: B::Device,
    data: ImageSet,
    state: EngineState<B>,
    /// Time spent per phase since the last [`Engine::take_timings`].
    timings: StepTimings,
    /// G_ema ready for inference, and the step it was made at.
    ema_for_inference: Option<(u64, Generator<B::InnerBackend>)>,
    /// Device→host reads made by the training steps.
    host_reads: u64,
    /// This engine's place among data-parallel replicas, if it has one.
    replica: Option<Replica>,
}

impl<B: AutodiffBackend> Engine<B> {
    /// The engine at step 0: networks, streams and data order drawn from the run seed.
    pub fn new(config: RunConfig, data: ImageSet, device: B::Device) -> Result<Self, TrainError> {
        check_image_size(&config, &data)?;
        let state = EngineState::initial(&config, data.len(), &device)?;
        Ok(Self {
            config,
            device,
            data,
            state,
            timings: StepTimings::default(),
            ema_for_inference: None,
            host_reads: 0,
            replica: None,
        })
    }

    /// The engine continuing from `state` (for example one restored from a checkpoint).
    pub fn from_state(
        config: RunConfig,
        data: ImageSet,
        device: B::Device,
        state: EngineState<B>,
    ) -> Result<Self, TrainError> {
        check_image_size(&config, &data)?;
        Ok(Self {
            config,
            device,
            data,
            state,
            timings: StepTimings::default(),
            ema_for_inference: None,
            host_reads: 0,
            replica: None,
        })
    }

    /// Makes this engine one replica of a data-parallel run (see
    /// [`start_replicas`](crate::start_replicas)): it trains on its share of each batch and
    /// exchanges gradients, BatchNorm moments and logged values with the other replicas.
    pub fn set_replica(&mut self, replica: Replica) {
        self.replica = Some(replica);
    }

    /// This engine's place among data-parallel replicas, if it has one.
    pub fn replica(&self) -> Option<&Replica> {
        self.replica.as_ref()
    }

    /// The rows of each batch this engine trains on: all of them, or a replica's share.
    fn shard(&self) -> std::ops::Range<usize> {
        let batch_size = self.config.data.batch_size;
        self.replica
            .as_ref()
            .map_or(0..batch_size, |replica| replica.shard(batch_size))
    }

    /// Everything a checkpoint saves.
    pub fn state(&self) -> &EngineState<B> {
        &self.state
    }

    /// Generator steps completed.
    pub fn step(&self) -> u64 {
        self.state.step
    }

    /// The generator being trained.
    pub fn generator(&self) -> &Generator<B> {
        &self.state.generator
    }

    /// G_ema, ready to sample (with `[ema]`): the averaged weights with BatchNorm statistics
    /// as `ema.batch_norm` says, recomputed at most once per step.
    pub fn ema_for_inference(&mut self) -> Option<Generator<B::InnerBackend>> {
        let config = self.config.ema.as_ref()?;
        let ema = self.state.generator_ema.as_ref()?;
        if let Some((step, ready)) = &self.ema_for_inference
            && *step == self.state.step
        {
            return Some(ready.clone());
        }
        let ready = match config.batch_norm {
            EmaBatchNorm::Copy => ema.clone(),
            EmaBatchNorm::Recompute => recompute_batch_norm::<B>(
                ema,
                self.config.seed,
                config.batch_norm_batches,
                self.config.data.batch_size,
                &self.device,
            ),
        };
        self.ema_for_inference = Some((self.state.step, ready.clone()));
        Some(ready)
    }

    /// The critic being trained.
    pub fn critic(&self) -> &Critic<B> {
        &self.state.critic
    }

    /// The run configuration.
    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    /// The device the networks live on.
    pub fn device(&self) -> &B::Device {
        &self.device
    }

    /// The training images.
    pub fn data(&self) -> &ImageSet {
        &self.data
    }

    /// Device→host reads the training steps have made: one per [`Engine::train_step`], none
    /// in [`Engine::critic_step`] or [`Engine::generator_step`].
    pub fn host_reads(&self) -> u64 {
        self.host_reads
    }

    /// The time spent per phase since the last call, and a fresh start.
    pub fn take_timings(&mut self) -> StepTimings {
        std::mem::take(&mut self.timings)
    }

    /// Images from `noise` with BatchNorm in inference mode.
    ///
    /// # Shapes
    /// - `noise`: `[count · latent_dim]`, row-major `[count, latent_dim]`
    /// - output: `[count, channels, image_size, image_size]`, pixels in [-1, 1]
    pub fn samples(&self, noise: &[f32]) -> Tensor<B::InnerBackend, 4> {
        samples_of(&self.state.generator.valid(), noise, &self.device)
    }
}

/// Images of `generator` from `noise`.
///
/// # Shapes
/// - `noise`: `[count · latent_dim]`, row-major `[count, latent_dim]`
/// - output: `[count, channels, image_size, image_size]`, pixels in [-1, 1]
pub fn samples_of<B: Backend>(generator: &Generator<B>, noise: &[f32], device: &B::Device) -> Tensor<B, 4> {
    let latent = generator.latent_dim;
    let data = TensorData::new(noise.to_vec(), [noise.len() / latent, latent]);
    generator.forward(Tensor::from_data(data, device))
}

/// Fails unless the images have the size and channels the networks are built for.
fn check_image_size(config: &RunConfig, data: &ImageSet) -> Result<(), TrainError> {
    if data.size() == config.model.image_size && data.channels() == config.model.channels {
        Ok(())
    } else {
        Err(TrainError::ImageSize {
            data: [data.channels(), data.size()],
            model: [config.model.channels, config.model.image_size],
        })
    }
}
