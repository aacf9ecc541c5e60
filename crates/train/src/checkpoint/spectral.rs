//! Spectral normalisation's vectors in a checkpoint's `state.json`.

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};
use serde::{Deserialize, Serialize};
use wgan_model::SpectralVectors;

/// Spectral normalisation's vectors as saved: one `u` (length `out`) and one `v` (length
/// `in`) per critic weight, convolutions first, then the linear layer; f32 values, which
/// JSON keeps exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpectralNormState {
    /// The left vectors.
    pub u: Vec<Vec<f32>>,
    /// The right vectors.
    pub v: Vec<Vec<f32>>,
}

impl SpectralNormState {
    /// The vectors of `vectors` read back to the host (a device read: at checkpoints only,
    /// never inside a training step).
    pub fn of<B: Backend>(vectors: &SpectralVectors<B>) -> Self {
        let read = |tensors: &[Tensor<B, 1>]| {
            tensors
                .iter()
                .map(|t| {
                    t.clone()
                        .cast(DType::F32)
                        .into_data()
                        .to_vec::<f32>()
                        .unwrap_or_default()
                })
                .collect()
        };
        Self {
            u: read(&vectors.u),
            v: read(&vectors.v),
        }
    }
}
