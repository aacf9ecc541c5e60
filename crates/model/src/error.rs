//! Errors raised while building or running the networks.

/// Why a network could not be built or run.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ModelError {
    /// A configuration field has a value the architecture cannot use.
    #[error("model.{field}: {reason}")]
    InvalidConfig {
        /// Dotted field name below `model`, e.g. `image_size`.
        field: &'static str,
        /// What is wrong and what would be accepted.
        reason: String,
    },
    /// The explicit input gradient is only defined for critics built from conv, LeakyReLU
    /// and linear layers; batch statistics couple the samples of a batch.
    #[error(
        "the critic's input gradient is undefined with batch normalisation; \
         use model.critic_norm = \"none\" (the WGAN-GP critic)"
    )]
    InputGradientWithBatchNorm,
    /// A tensor arrived with a shape the network was not built for.
    #[error("{network} expects input of shape {expected:?}, got {actual:?}")]
    InputShape {
        /// `generator` or `critic`.
        network: &'static str,
        /// Expected shape; `0` stands for any batch size.
        expected: Vec<usize>,
        /// Shape received.
        actual: Vec<usize>,
    },
    /// Spectral-normalisation vectors (from a checkpoint) that do not fit the critic.
    #[error(
        "spectral-norm vectors of lengths u {u:?}, v {v:?} do not fit the critic's weights {expected:?} ([out, in] each)"
    )]
    SpectralVectors {
        /// `[out, in]` of every critic weight.
        expected: Vec<[usize; 2]>,
        /// Lengths of the `u` vectors found.
        u: Vec<usize>,
        /// Lengths of the `v` vectors found.
        v: Vec<usize>,
    },
}

impl ModelError {
    /// Whether the user can fix this: a configuration the architecture cannot use. A tensor
    /// of the wrong shape inside the program is not the user's doing.
    pub fn is_user_error(&self) -> bool {
        match self {
            Self::InvalidConfig { .. } | Self::InputGradientWithBatchNorm => true,
            Self::InputShape { .. } => false,
            Self::SpectralVectors { .. } => true,
        }
    }
}
