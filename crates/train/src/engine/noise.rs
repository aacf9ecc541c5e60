//! Host-side random streams for z and ε, seeded and serialisable.
//!
//! The backend's global RNG cannot be read back, so every random number the loop needs is
//! drawn here and uploaded; a checkpoint can then store the streams' exact state.

use std::ops::Range;

use burn::tensor::{Tensor, TensorData, backend::Backend};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// Independent purposes of the run seed, one ChaCha8 stream each.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub enum Stream {
    /// Initial weights of both networks.
    Weights = 1,
    /// Noise z for training steps.
    TrainingNoise = 2,
    /// Interpolation weights ε of the gradient penalty.
    Interpolation = 3,
    /// The fixed noise behind every sample grid.
    FixedNoise = 4,
    /// Data order (the batcher seeds itself from this).
    DataOrder = 5,
    /// The fixed noise batches behind G_ema's recomputed BatchNorm statistics.
    BatchNormNoise = 6,
    /// The initial power-iteration vectors of spectral normalisation.
    SpectralNorm = 7,
}

/// The batcher's seed: drawn from the run seed's [`Stream::DataOrder`], so that the data
/// order shares no ChaCha stream with the weights or the noise.
pub fn data_order_seed(seed: u64) -> u64 {
    stream_rng(seed, Stream::DataOrder).next_u64()
}

/// A seeded RNG for one [`Stream`] of the run seed.
pub fn stream_rng(seed: u64, stream: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream as u64);
    rng
}

/// A serialisable source of z ~ N(0, I) or ε ~ U[0, 1] batches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoiseSource {
    rng: ChaCha8Rng,
}

impl NoiseSource {
    /// A source on `stream` of `seed`.
    pub fn new(seed: u64, stream: Stream) -> Self {
        Self {
            rng: stream_rng(seed, stream),
        }
    }

    /// Standard-normal values, row-major `[rows, columns]`.
    pub fn normal_values(&mut self, rows: usize, columns: usize) -> Vec<f32> {
        (0..rows * columns).map(|_| self.rng.sample(StandardNormal)).collect()
    }

    /// A noise batch `z ~ N(0, I)`.
    ///
    /// # Shapes
    /// - output: `[batch, latent_dim]`
    pub fn normal<B: Backend>(&mut self, batch: usize, latent_dim: usize, device: &B::Device) -> Tensor<B, 2> {
        self.normal_rows(batch, latent_dim, 0..batch, device)
    }

    /// Rows `rows` of a noise batch `z ~ N(0, I)`: the whole batch is drawn, so the stream
    /// moves on as for [`NoiseSource::normal`] (a data-parallel replica's share).
    ///
    /// # Shapes
    /// - output: `[rows.len(), latent_dim]`
    pub fn normal_rows<B: Backend>(
        &mut self,
        batch: usize,
        latent_dim: usize,
        rows: Range<usize>,
        device: &B::Device,
    ) -> Tensor<B, 2> {
        let mut values = self.normal_values(batch, latent_dim);
        values.truncate(rows.end * latent_dim);
        values.drain(..rows.start * latent_dim);
        Tensor::from_data(TensorData::new(values, [rows.len(), latent_dim]), device)
    }

    /// One interpolation weight per sample, `ε ~ U[0, 1]`.
    ///
    /// # Shapes
    /// - output: `[batch, 1, 1, 1]`
    pub fn uniform<B: Backend>(&mut self, batch: usize, device: &B::Device) -> Tensor<B, 4> {
        self.uniform_rows(batch, 0..batch, device)
    }

    /// Rows `rows` of a batch of interpolation weights (the whole batch is drawn).
    ///
    /// # Shapes
    /// - output: `[rows.len(), 1, 1, 1]`
    pub fn uniform_rows<B: Backend>(&mut self, batch: usize, rows: Range<usize>, device: &B::Device) -> Tensor<B, 4> {
        let mut values: Vec<f32> = (0..batch).map(|_| self.rng.random::<f32>()).collect();
        values.truncate(rows.end);
        values.drain(..rows.start);
        Tensor::from_data(TensorData::new(values, [rows.len(), 1, 1, 1]), device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_independent_and_reproducible() {
        let a = NoiseSource::new(3, Stream::TrainingNoise).normal_values(4, 4);
        assert_eq!(a, NoiseSource::new(3, Stream::TrainingNoise).normal_values(4, 4));
        assert_ne!(a, NoiseSource::new(3, Stream::FixedNoise).normal_values(4, 4));
        assert_ne!(a, NoiseSource::new(4, Stream::TrainingNoise).normal_values(4, 4));
    }

    #[test]
    fn state_round_trips_through_json() {
        let mut source = NoiseSource::new(1, Stream::Interpolation);
        source.normal_values(3, 5);
        let mut restored: NoiseSource = serde_json::from_str(&serde_json::to_string(&source).unwrap()).unwrap();
        assert_eq!(source.normal_values(2, 2), restored.normal_values(2, 2));
    }
}
