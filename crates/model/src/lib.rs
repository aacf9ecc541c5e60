//! The WGAN / WGAN-GP generator and critic (Arjovsky et al. 2017, Gulrajani et al. 2017).
//!
//! Pure tensor code: no file system, no printing. Every network is generic over the burn
//! backend and is built from a [`ModelConfig`]. The critic exposes its input gradient
//! `dD/dx` built from ordinary differentiable ops ([`Critic::input_gradient`]), because
//! burn's autodiff is first-order only and the gradient penalty needs a gradient of a
//! gradient.

mod activation;
mod batch_norm;
mod config;
mod conv;
mod critic;
mod dtype;
mod error;
mod generator;
mod host;
pub mod init;
mod input_gradient;
mod summary;
mod upsample;

pub use batch_norm::batch_norm;
pub use config::{BatchNormConfig, CriticNorm, ModelConfig, Variant};
pub use critic::{Critic, CriticBlock};
pub use dtype::cast_parameters;
pub use error::ModelError;
pub use generator::{Generator, GeneratorBlock};
pub use summary::{LayerSummary, NetworkSummary};
pub use upsample::{bilinear_matrix, upsample_bilinear_2x};
