//! The configured optimizer of one network.

use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{Adam, AdamConfig, GradientsParams, Optimizer, RmsProp, RmsPropConfig};
use burn::record::Recorder;
use burn::tensor::backend::AutodiffBackend;

use crate::OptimizerConfig;
use crate::record::{CheckpointRecorder, decode_record};

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
    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        let recorder = CheckpointRecorder::default();
        let bytes = match self {
            Self::Adam(optimizer) => recorder.record(optimizer.to_record(), ()),
            Self::RmsProp(optimizer) => recorder.record(optimizer.to_record(), ()),
        };
        bytes.map_err(|err| err.to_string())
    }

    /// Replaces the optimizer state with one saved by [`NetworkOptimizer::to_bytes`].
    pub fn load_bytes(self, bytes: Vec<u8>, device: &B::Device) -> Result<Self, String> {
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
