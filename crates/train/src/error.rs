//! Errors of the training crate.

use std::path::{Path, PathBuf};

use wgan_data::DataError;
use wgan_model::ModelError;

use crate::checkpoint::RecordError;
use crate::run::QualityError;

/// What plotters reported when a plot could not be drawn.
pub type PlotError = Box<dyn std::error::Error + Send + Sync>;

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

impl ConfigError {
    /// Always `true`: a configuration is the user's to fix.
    pub fn is_user_error(&self) -> bool {
        true
    }
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
    #[error("{}: {error}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// The dataset's images are not the shape the networks are built for.
    #[error(
        "the training images are {}×{}×{} (channels×size×size), but the model takes {}×{}×{} \
         (model.channels, model.image_size)",
        data[0], data[1], data[1], model[0], model[1], model[1]
    )]
    ImageSize {
        /// `[channels, side]` of the dataset's images.
        data: [usize; 2],
        /// `[model.channels, model.image_size]`.
        model: [usize; 2],
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
    /// An event file holds a record that is not a TensorBoard event.
    #[error("{}: record at byte {offset} is not a TensorBoard event: {reason}", path.display())]
    EventFile {
        /// The event file.
        path: PathBuf,
        /// Where the record starts.
        offset: usize,
        /// What the protobuf decoder reported.
        reason: String,
    },
    /// A run summary cannot be read.
    #[error("{}: not a run summary: {reason}", path.display())]
    Summary {
        /// The summary file.
        path: PathBuf,
        /// What the JSON parser reported.
        reason: String,
    },
    /// A sample grid could not be encoded or written.
    #[error("{}: {error}", path.display())]
    Image {
        /// The file.
        path: PathBuf,
        /// What the image codec reported.
        error: image::ImageError,
    },
    /// Images with a channel count a grid cannot show (only 1 and 3 can be drawn).
    #[error("cannot draw images with {channels} channels as a grid (1 or 3 can be drawn)")]
    GridChannels {
        /// The channel count.
        channels: usize,
    },
    /// A noise or sample file is not an f32 NPY array.
    #[error("{}: not an f32 NPY array: {error}", path.display())]
    Npy {
        /// The file.
        path: PathBuf,
        /// What the NPY reader reported.
        error: std::io::Error,
    },
    /// A plot could not be drawn.
    #[error("{}: cannot draw the plot: {error}", path.display())]
    Plot {
        /// The plot file.
        path: PathBuf,
        /// What plotters reported.
        error: PlotError,
    },
    /// A network or optimizer state could not be encoded for a checkpoint.
    #[error("{file}: {error}")]
    Record {
        /// The checkpoint file it was meant for.
        file: String,
        /// What failed.
        error: RecordError,
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
    /// Quality measurement failed.
    #[error("step {step}: quality measurement failed: {error}")]
    Quality {
        /// The step being measured.
        step: u64,
        /// What failed.
        error: QualityError,
    },
    /// `schedule.eval_interval` is set, but no quality measurement was attached to the run.
    #[error("schedule.eval_interval is set but no quality measurement is attached")]
    NoQualityProbe,
    /// A tensor's values could not be read back to the host.
    #[error("cannot read a tensor's values: {0}")]
    TensorRead(String),
    /// A record could not be serialised as JSON.
    #[error("cannot serialise JSON: {0}")]
    Json(serde_json::Error),
    /// A configuration could not be written as TOML.
    #[error("cannot serialise TOML: {0}")]
    Toml(toml::ser::Error),
    /// A generator could not be written as safetensors.
    #[error("cannot serialise safetensors: {0}")]
    Safetensors(safetensors::SafeTensorError),
    /// A data-parallel replica failed, or could not exchange values with the others.
    #[error("replica {rank} ({device}): {reason}")]
    Replica {
        /// The replica's rank, 0 for the one that writes the run.
        rank: usize,
        /// Its device.
        device: String,
        /// What failed.
        reason: String,
    },
    /// Data-parallel training was asked of something that cannot do it.
    #[error("{field}: {reason}")]
    Distributed {
        /// The setting or option at fault.
        field: String,
        /// Why.
        reason: String,
    },
}

impl TrainError {
    /// Whether the user can fix this: a bad config or dataset, a run directory that is taken
    /// or cannot be written (a full disk included), a checkpoint that cannot be used.
    /// `false` for failures of the program or its environment.
    pub fn is_user_error(&self) -> bool {
        match self {
            Self::Model(error) => error.is_user_error(),
            Self::Data(error) => error.is_user_error(),
            Self::CheckpointWrite { reason, .. } => reason.is_user_error(),
            Self::Io { .. }
            | Self::ImageSize { .. }
            | Self::RunExists { .. }
            | Self::Locked { .. }
            | Self::Image { .. }
            | Self::Npy { .. }
            | Self::Metrics { .. }
            | Self::EventFile { .. }
            | Self::Summary { .. }
            | Self::NoCheckpoint { .. }
            | Self::Distributed { .. }
            | Self::NoQualityProbe => true,
            Self::GridChannels { .. }
            | Self::Plot { .. }
            | Self::Record { .. }
            | Self::NonFinite { .. }
            | Self::Quality { .. }
            | Self::TensorRead(_)
            | Self::Json(_)
            | Self::Toml(_)
            | Self::Replica { .. }
            | Self::Safetensors(_) => false,
        }
    }
}

impl TrainError {
    pub(crate) fn io(path: impl AsRef<Path>, error: std::io::Error) -> Self {
        Self::Io {
            path: path.as_ref().to_path_buf(),
            error,
        }
    }
}
