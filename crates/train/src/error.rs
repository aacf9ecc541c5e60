//! Errors of the training crate.

use wgan_model::ModelError;

/// A configuration that cannot be used. Every variant names the field (dotted path).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The text is not valid TOML.
    #[error("invalid TOML: {0}")]
    Syntax(String),
    /// A key is unknown, missing, or has the wrong type.
    #[error("{field}: {message}")]
    Field {
        /// Dotted path of the offending key, e.g. `model.dim`.
        field: String,
        /// What serde reported.
        message: String,
    },
    /// A value is out of its allowed range.
    #[error("{field}: {reason}")]
    Range {
        /// Dotted path, e.g. `schedule.n_critic`.
        field: String,
        /// What is allowed.
        reason: String,
    },
    /// A `--set KEY=VALUE` override is malformed.
    #[error("--set {assignment}: {reason}")]
    Override {
        /// The override as given.
        assignment: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl From<ModelError> for ConfigError {
    fn from(err: ModelError) -> Self {
        match err {
            ModelError::InvalidConfig { field, reason } => {
                ConfigError::Range { field: format!("model.{field}"), reason }
            }
            other => ConfigError::Range { field: "model".into(), reason: other.to_string() },
        }
    }
}

/// A training step that cannot proceed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The networks rejected their input or configuration.
    #[error(transparent)]
    Model(#[from] ModelError),
}
