//! Each network's optimizer: its settings ([`OptimizerConfig`]) and the configured burn
//! optimizer with its state ([`NetworkOptimizer`]).

use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{Adam, AdamConfig, GradientsParams, Optimizer, RmsProp, RmsPropConfig};
use burn::record::Recorder;
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};

use crate::ConfigError;
use crate::checkpoint::{CheckpointRecorder, RecordError, decode_record};
use crate::config::positive;

/// One network's optimizer. The seed uses Keras' optimizers, so the defaults follow Keras
/// (`epsilon = 1e-7`, RMSprop `rho = 0.9`) rather than burn's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// RMSprop without momentum (WGAN seed: learning rate 5e-5).
    #[serde(rename = "rmsprop")]
    RmsProp {
        /// Step size, > 0.
        learning_rate: f64,
        /// Decay of the running mean of squared gradients (Keras' `rho`), in [0, 1).
        alpha: f64,
        /// Added to the root-mean-square, > 0.
        epsilon: f64,
    },
    /// Adam (WGAN-GP seed: learning rate 1e-4, β1 = 0.5, β2 = 0.9).
    Adam {
        /// Step size, > 0.
        learning_rate: f64,
        /// Decay of the first moment, in [0, 1).
        beta1: f64,
        /// Decay of the second moment, in [0, 1).
        beta2: f64,
        /// Added to the root of the second moment, > 0.
        epsilon: f64,
    },
}

impl OptimizerConfig {
    /// The WGAN seed's RMSprop.
    pub const SEED_RMSPROP: Self = Self::RmsProp {
        learning_rate: 5e-5,
        alpha: 0.9,
        epsilon: 1e-7,
    };
    /// The WGAN-GP seed's Adam.
    pub const SEED_ADAM: Self = Self::Adam {
        learning_rate: 1e-4,
        beta1: 0.5,
        beta2: 0.9,
        epsilon: 1e-7,
    };

    /// Range checks; `section` is the dotted path used in errors, e.g. `optimizer.critic`.
    pub fn check(&self, section: &str) -> Result<(), ConfigError> {
        let positive = |name: &str, value: f64| positive(&format!("{section}.{name}"), value);
        let decay = |name: &str, value: f64| {
            (value.is_finite() && (0.0..1.0).contains(&value))
                .then_some(())
                .ok_or_else(|| ConfigError::Range {
                    field: format!("{section}.{name}"),
                    reason: format!("must be in [0, 1), got {value}"),
                })
        };
        match *self {
            Self::RmsProp {
                learning_rate,
                alpha,
                epsilon,
            } => {
                positive("learning_rate", learning_rate)?;
                decay("alpha", alpha)?;
                positive("epsilon", epsilon)
            }
            Self::Adam {
                learning_rate,
                beta1,
                beta2,
                epsilon,
            } => {
                positive("learning_rate", learning_rate)?;
                decay("beta1", beta1)?;
                decay("beta2", beta2)?;
                positive("epsilon", epsilon)
            }
        }
    }
}

/// Adam or RMSprop for a module `M`, as configured.
pub enum NetworkOptimizer<M: AutodiffModule<B>, B: AutodiffBackend> {
    /// Adam.
    Adam(OptimizerAdaptor<Adam, M, B>),
    /// RMSprop (momentum 0).
    RmsProp(OptimizerAdaptor<RmsProp, M, B>),
}

impl<M: AutodiffModule<B>, B: AutodiffBackend> NetworkOptimizer<M, B> {
    /// Builds the optimizer with every hyperparameter set explicitly (burn's defaults differ
    /// from the seed's).
    pub fn new(config: &OptimizerConfig) -> Self {
        match *config {
            OptimizerConfig::Adam {
                beta1, beta2, epsilon, ..
            } => Self::Adam(
                AdamConfig::new()
                    .with_beta_1(beta1 as f32)
                    .with_beta_2(beta2 as f32)
                    .with_epsilon(epsilon as f32)
                    .init(),
            ),
            OptimizerConfig::RmsProp { alpha, epsilon, .. } => Self::RmsProp(
                RmsPropConfig::new()
                    .with_alpha(alpha as f32)
                    .with_momentum(0.0)
                    .with_epsilon(epsilon as f32)
                    .with_centered(false)
                    .init(),
            ),
        }
    }

    /// The optimizer state (moments, step counts, keyed by ParamId) as bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, RecordError> {
        let recorder = CheckpointRecorder::default();
        let bytes = match self {
            Self::Adam(optimizer) => recorder.record(optimizer.to_record(), ()),
            Self::RmsProp(optimizer) => recorder.record(optimizer.to_record(), ()),
        };
        bytes.map_err(RecordError::Encode)
    }

    /// Replaces the optimizer state with one saved by [`NetworkOptimizer::to_bytes`].
    pub fn load_bytes(self, bytes: Vec<u8>, device: &B::Device) -> Result<Self, RecordError> {
        Ok(match self {
            Self::Adam(optimizer) => Self::Adam(optimizer.load_record(decode_record(bytes, device)?)),
            Self::RmsProp(optimizer) => Self::RmsProp(optimizer.load_record(decode_record(bytes, device)?)),
        })
    }

    /// One update of `module` with `grads` at `learning_rate`.
    pub fn step(&mut self, learning_rate: f64, module: M, grads: GradientsParams) -> M {
        match self {
            Self::Adam(optimizer) => optimizer.step(learning_rate, module, grads),
            Self::RmsProp(optimizer) => optimizer.step(learning_rate, module, grads),
        }
    }
}

impl OptimizerConfig {
    /// The configured step size.
    pub fn learning_rate(&self) -> f64 {
        match *self {
            Self::Adam { learning_rate, .. } | Self::RmsProp { learning_rate, .. } => learning_rate,
        }
    }
}
