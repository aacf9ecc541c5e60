//! The hook through which training measures sample quality every `schedule.eval_interval`
//! steps. The measurement itself (a classifier, FD-FMNIST, Inception Score) lives in
//! `wgan-eval`; the binary plugs it in.

use burn::tensor::backend::Backend;
use wgan_model::Generator;

use crate::QualityPoint;

/// Why a quality measurement failed, as its implementation reports it.
pub type QualityError = Box<dyn std::error::Error + Send + Sync>;

/// Measures a generator's samples.
pub trait QualityProbe<B: Backend> {
    /// Quality of `samples` images from `generator` (inference mode; latent size `latent_dim`).
    /// The measurement must not touch the training's random streams.
    fn measure(
        &mut self,
        generator: &Generator<B>,
        latent_dim: usize,
        samples: usize,
    ) -> Result<QualityPoint, QualityError>;
}
