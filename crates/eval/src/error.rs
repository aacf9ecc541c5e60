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
    #[error("{}: {error}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
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
    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            error,
        }
    }

    /// Whether the user can fix this: a classifier directory that is missing, unreadable or
    /// damaged, or data or sampling errors that are the user's.
    pub fn is_user_error(&self) -> bool {
        match self {
            Self::Io { .. } | Self::Classifier { .. } => true,
            Self::Data(error) => error.is_user_error(),
            Self::Train(error) => error.is_user_error(),
            Self::Shape(_) | Self::NonFinite(_) => false,
        }
    }
}
