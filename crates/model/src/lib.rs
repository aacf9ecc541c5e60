//! The WGAN / WGAN-GP generator and critic (Arjovsky et al. 2017, Gulrajani et al. 2017).
//!
//! Pure tensor code: no file system, no printing. Every network is generic over the burn
//! backend and is built from a [`ModelConfig`], out of burn's layers and the ops of
//! `wgan-ops` (convolution, BatchNorm, (Leaky)ReLU, bilinear upsampling), which run host
//! kernels on the CPU backend and burn's own ops elsewhere. The critic exposes its input
//! gradient `dD/dx` built from ordinary differentiable ops ([`Critic::input_gradient`]),
//! because burn's autodiff is first-order only and the gradient penalty needs a gradient of
//! a gradient.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod config;
mod critic;
mod error;
mod generator;
pub mod init;
mod input_gradient;
mod spectral_norm;
mod summary;

pub use config::{BatchNormConfig, CriticNorm, ModelConfig, Variant};
pub use critic::{Critic, CriticBlock};
pub use error::ModelError;
pub use generator::{Generator, GeneratorBlock};
pub use spectral_norm::SpectralVectors;
pub use summary::{LayerSummary, NetworkSummary};
pub use wgan_ops::cast_parameters;
