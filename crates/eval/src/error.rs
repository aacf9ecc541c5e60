//! Errors of the evaluation crate.

use std::path::PathBuf;

/// Why a quality measurement or the classifier failed.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// Inputs of the wrong size.
    #[error("{0}")]
    Shape(String),
    /// A statistic came out NaN or infinite.
    #[error("{0} is not finite")]
    NonFinite(&'static str),
    /// The images cannot be served as batches.
    #[error(transparent)]
    Data(#[from] wgan_data::DataError),
    /// Sampling the generator failed.
    #[error(transparent)]
    Train(#[from] wgan_train::TrainError),
    /// A classifier file is missing, unreadable or cannot be written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A classifier file is damaged or of another format.
    #[error("{}: {reason}", path.display())]
    Classifier {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl EvalError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
