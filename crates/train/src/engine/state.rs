//! The engine's state: everything a checkpoint saves and a resume restores, in one struct.

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use wgan_data::ShuffledBatches;
use wgan_model::{Critic, Generator, SpectralVectors};

use super::ema::detached_copy;
use super::noise::{NoiseSource, Stream, data_order_seed, stream_rng};
use crate::{NetworkOptimizer, RunConfig, TrainError};

/// Both networks, both optimizers, every random stream of training, the data order and the
/// step: with the run's configuration and data, exactly what the next step depends on.
pub struct EngineState<B: AutodiffBackend> {
    /// Generator steps completed.
    pub step: u64,
    /// The generator, with its BatchNorm statistics.
    pub generator: Generator<B>,
    /// The critic.
    pub critic: Critic<B>,
    /// G_ema, the moving average of the generator (with `[ema]`): averaged weights and G's
    /// running statistics, never recomputed ones.
    pub generator_ema: Option<Generator<B::InnerBackend>>,
    /// The generator's optimizer and its moments.
    pub generator_optimizer: NetworkOptimizer<Generator<B>, B>,
    /// The critic's optimizer and its moments.
    pub critic_optimizer: NetworkOptimizer<Critic<B>, B>,
    /// The stream of training noise z.
    pub training_noise: NoiseSource,
    /// The stream of the gradient penalty's interpolation weights ε.
    pub interpolation: NoiseSource,
    /// The data order and where it stands.
    pub batches: ShuffledBatches,
    /// The critic's power-iteration vectors, under spectral normalisation.
    pub spectral_vectors: Option<SpectralVectors<B::InnerBackend>>,
}

impl<B: AutodiffBackend> EngineState<B> {
    /// Step 0 of `config` on `data_len` training images: networks initialised from the
    /// run seed's weight stream, fresh optimizers, the noise streams and data order at
    /// their start.
    pub fn initial(config: &RunConfig, data_len: usize, device: &B::Device) -> Result<Self, TrainError> {
        let mut weights = stream_rng(config.seed, Stream::Weights);
        let generator = Generator::new(&config.model, &mut weights, device)?;
        let critic = Critic::new(&config.model, &mut weights, device)?;
        let generator_ema = config.ema.as_ref().map(|_| detached_copy(&generator));
        let spectral_vectors = config
            .lipschitz
            .spectral_norm_iterations()
            .map(|_| SpectralVectors::new(&critic.valid(), &mut stream_rng(config.seed, Stream::SpectralNorm)));
        Ok(Self {
            step: 0,
            generator_ema,
            generator,
            critic,
            generator_optimizer: NetworkOptimizer::new(&config.optimizer.generator),
            critic_optimizer: NetworkOptimizer::new(&config.optimizer.critic),
            training_noise: NoiseSource::new(config.seed, Stream::TrainingNoise),
            interpolation: NoiseSource::new(config.seed, Stream::Interpolation),
            batches: ShuffledBatches::new(data_len, config.data.batch_size, data_order_seed(config.seed))?,
            spectral_vectors,
        })
    }
}
