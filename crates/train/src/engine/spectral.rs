//! Spectral normalisation's vectors between the engine's state and its autodiff graph.

use burn::tensor::Tensor;
use burn::tensor::backend::AutodiffBackend;
use wgan_model::SpectralVectors;

/// The vectors, kept on the inner backend, as untracked constants of the autodiff backend.
pub(super) fn on_autodiff<B: AutodiffBackend>(vectors: &SpectralVectors<B::InnerBackend>) -> SpectralVectors<B> {
    let lift = |tensors: &[Tensor<B::InnerBackend, 1>]| tensors.iter().cloned().map(Tensor::from_inner).collect();
    SpectralVectors {
        u: lift(&vectors.u),
        v: lift(&vectors.v),
    }
}
