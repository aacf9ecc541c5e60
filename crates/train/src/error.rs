//! Errors of the training crate.

use std::path::{Path, PathBuf};

use wgan_data::DataError;
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
            ModelError::InvalidConfig { field, reason } => ConfigError::Range {
                field: format!("model.{field}"),
                reason,
            },
            other => ConfigError::Range {
                field: "model".into(),
                reason: other.to_string(),
            },
        }
    }
}

/// Why training, or writing its outputs, stopped.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The networks rejected their input or configuration.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The dataset cannot serve the configured batches.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A file in the run directory could not be written or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The run directory already holds a run.
    #[error("{}: already holds a run ({} exists); choose another output directory", path.display(), marker)]
    RunExists {
        /// The run directory.
        path: PathBuf,
        /// The file that marks it as used.
        marker: &'static str,
    },
    /// Another live process is training in the run directory.
    #[error("{}: run directory is in use by {}; wait for it to finish or stop it first", path.display(), if owner.is_empty() { "another process" } else { owner.as_str() })]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// Who holds it, as written in the lock file (e.g. `process 1234`).
        owner: String,
    },
    /// A checkpoint could not be written (for example, the disk is full); the checkpoints
    /// written before it are untouched.
    #[error("step {step}: cannot write the checkpoint ({reason}); earlier checkpoints are intact")]
    CheckpointWrite {
        /// The step being checkpointed.
        step: u64,
        /// What failed.
        reason: Box<TrainError>,
    },
    /// A metrics file has a line that is not a metrics record.
    #[error("{}:{line}: not a metrics record: {reason}", path.display())]
    Metrics {
        /// The metrics file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The parse error.
        reason: String,
    },
    /// A sample grid or noise file could not be encoded or decoded.
    #[error("{}: {reason}", path.display())]
    Image {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The loss plot could not be drawn.
    #[error("{}: cannot draw the loss plot: {reason}", path.display())]
    Plot {
        /// The plot file.
        path: PathBuf,
        /// What plotters reported.
        reason: String,
    },
    /// A loss became NaN or infinite.
    #[error("step {step}: {loss} is {value}; training stopped (lower the learning rate, or check the data)")]
    NonFinite {
        /// The generator step that produced it.
        step: u64,
        /// Which loss.
        loss: &'static str,
        /// The value.
        value: f64,
    },
    /// No checkpoint in the run directory can be loaded.
    #[error("{}: no usable checkpoint{}", path.display(), if tried.is_empty() { String::new() } else { format!(":\n  - {}", tried.join("\n  - ")) })]
    NoCheckpoint {
        /// The run or checkpoints directory.
        path: PathBuf,
        /// Why each one was rejected, newest first.
        tried: Vec<String>,
    },
    /// Quality measurement is configured but failed, or no measurement was attached.
    #[error("step {step}: quality measurement failed: {reason}")]
    Quality {
        /// The step being measured.
        step: u64,
        /// What failed.
        reason: String,
    },
    /// A bug: something that should not happen.
    #[error("internal error: {0}")]
    Internal(String),
}

impl TrainError {
    pub(crate) fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }
}
