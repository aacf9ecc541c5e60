//! Checkpoints: everything needed to continue a run exactly, written atomically.
//!
//! A checkpoint is a directory `RUN/checkpoints/step-NNNNNN/` holding
//!
//! - `generator.bin`, `critic.bin`: burn records of both networks (with ParamIds and the
//!   BatchNorm running statistics), full precision;
//! - `generator-optimizer.bin`, `critic-optimizer.bin`: both optimizer states, keyed by ParamId;
//! - `generator-ema.bin`, with `[ema]` only: G_ema ready for inference (averaged weights with
//!   the BatchNorm statistics `ema.batch_norm` gives them);
//! - `state.json`, written last: the format version, the step, the random streams, the data
//!   order, the fixed sample noise, the architecture, spectral normalisation's vectors (when
//!   the run has them), and the SHA-256 of every other file.
//!
//! It is written to `checkpoints/.partial-step-NNNNNN/`, every file fsynced, then renamed into
//! place and the parent directory fsynced, so a crash at any moment leaves either the new
//! checkpoint or none, never half of one.

//!
//! This file is the format: the manifest ([`CheckpointState`]), how the engine's state
//! becomes files and comes back ([`save`], [`restore`]), and the burn record codec. The
//! directory handling is in `store.rs`.

mod spectral;
mod store;

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Once;

use burn::module::{AutodiffModule, Module};
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Record, Recorder, RecorderError};
use burn::tensor::backend::{AutodiffBackend, Backend};
use serde::{Deserialize, Serialize};
use wgan_data::{DataError, ShuffleState, ShuffledBatches};
use wgan_model::{Generator, ModelConfig, SpectralVectors};

use crate::engine::{EngineState, data_order_seed};
use crate::{NetworkOptimizer, NoiseSource, RunConfig, TrainError};

pub use spectral::SpectralNormState;
pub use store::{
    Restored, checkpoint_name, list_checkpoints, prune_checkpoints, read_checkpoint, restore_newest, write_checkpoint,
};

/// Version of the checkpoint layout; a checkpoint of another version is refused.
pub const CHECKPOINT_FORMAT: u32 = 1;

/// Network and optimizer files of a checkpoint, in the order they are written.
pub const CHECKPOINT_FILES: [&str; 4] = [
    "generator.bin",
    "critic.bin",
    "generator-optimizer.bin",
    "critic-optimizer.bin",
];

/// G_ema's file, present in checkpoints of runs with `[ema]`.
pub const EMA_FILE: &str = "generator-ema.bin";

/// The small, human-readable part of a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    /// [`CHECKPOINT_FORMAT`] at the time of writing.
    pub format: u32,
    /// Generator steps completed.
    pub step: u64,
    /// Wall-clock seconds of training before this checkpoint.
    pub elapsed_s: f64,
    /// The stream of training noise z.
    pub training_noise: NoiseSource,
    /// The stream of interpolation weights ε.
    pub interpolation: NoiseSource,
    /// Where the data order stands.
    pub shuffle: ShuffleState,
    /// `[GRID_IMAGES · latent_dim]`, the noise behind every sample grid.
    pub fixed_noise: Vec<f32>,
    /// The architecture the networks were built with.
    pub model: ModelConfig,
    /// Spectral normalisation's power-iteration vectors, under spectral normalisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spectral_norm: Option<SpectralNormState>,
    /// `(file name, SHA-256 hex)` of every file in [`CHECKPOINT_FILES`], and of [`EMA_FILE`]
    /// when there is one.
    pub checksums: Vec<(String, String)>,
}

/// A checkpoint read back and verified.
#[derive(Debug)]
pub struct LoadedCheckpoint {
    /// Its directory.
    pub path: PathBuf,
    /// The state file.
    pub state: CheckpointState,
    /// Contents of [`CHECKPOINT_FILES`], in that order.
    pub files: [Vec<u8>; 4],
    /// Contents of [`EMA_FILE`], if the checkpoint has one.
    pub ema: Option<Vec<u8>>,
}

/// Why a checkpoint cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// A file is missing or unreadable.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// `state.json` is not a checkpoint state.
    #[error("{}: corrupt state file: {error}", path.display())]
    State {
        /// The state file.
        path: PathBuf,
        /// The parse error.
        error: serde_json::Error,
    },
    /// The saved data order cannot belong to this dataset and seed.
    #[error("{}: {error}", path.display())]
    DataOrder {
        /// The state file.
        path: PathBuf,
        /// What does not match.
        error: DataError,
    },
    /// Written by another version of the format.
    #[error("{}: checkpoint format {found}, this build reads format {CHECKPOINT_FORMAT}", path.display())]
    Version {
        /// The state file.
        path: PathBuf,
        /// Version found.
        found: u32,
    },
    /// A file's content does not match its recorded checksum (truncated or corrupted).
    #[error("{}: SHA-256 mismatch (truncated or corrupted)", path.display())]
    Checksum {
        /// The file.
        path: PathBuf,
    },
    /// The config keeps G_ema but the checkpoint has none.
    #[error("{}: no {EMA_FILE}, but the config has an [ema] section (the checkpoint was written without it)", path.display())]
    MissingEma {
        /// The checkpoint.
        path: PathBuf,
    },
    /// G_ema was asked for, but the checkpoint has none.
    #[error("{}: no G_ema in this checkpoint (its run had no [ema] section); use --weights raw", path.display())]
    NoEma {
        /// The checkpoint.
        path: PathBuf,
    },
    /// The config normalises the critic spectrally but the checkpoint has no vectors.
    #[error("{}: no spectral-norm vectors in state.json, but the config has lipschitz.kind = \"spectral_norm\" (the checkpoint was written without it)", path.display())]
    MissingSpectralNorm {
        /// The state file.
        path: PathBuf,
    },
    /// The networks in the checkpoint do not have the configured architecture.
    #[error("{}: architecture differs from the config: {difference}", path.display())]
    Architecture {
        /// The checkpoint.
        path: PathBuf,
        /// What differs.
        difference: String,
    },
    /// A record could not be decoded into the networks or optimizers.
    #[error("{}: {error}", path.display())]
    Record {
        /// The file.
        path: PathBuf,
        /// What failed.
        error: RecordError,
    },
}

impl CheckpointError {
    /// Whether the user can fix this (every variant: the files on disk are not a usable
    /// checkpoint of this run).
    pub fn is_user_error(&self) -> bool {
        true
    }
}

/// A burn record (network or optimizer state) that cannot be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// burn could not serialise the record.
    #[error("cannot encode the record: {0}")]
    Encode(RecorderError),
    /// burn could not deserialise the bytes.
    #[error("cannot decode the record: {0}")]
    Decode(RecorderError),
    /// The bytes are not a record of this type (burn's decoder gave up on them).
    #[error("not a valid record ({0})")]
    Malformed(String),
}

/// The recorder of every network and optimizer file in a checkpoint.
pub(crate) type CheckpointRecorder = BinBytesRecorder<FullPrecisionSettings, Vec<u8>>;

/// The run-level values a checkpoint keeps next to the engine's state.
#[derive(Debug, Clone, PartialEq)]
pub struct RunProgress {
    /// Wall-clock seconds of training so far, over every segment of the run.
    pub elapsed_s: f64,
    /// `[GRID_IMAGES · latent_dim]`, the noise behind every sample grid.
    pub fixed_noise: Vec<f32>,
}

/// Writes `state` and `progress` as the checkpoint of `state.step` into `checkpoints`
/// (atomically) and returns its directory. `ema` is G_ema ready for inference, saved in place
/// of the state's average (they differ only in BatchNorm statistics, which the next update
/// overwrites).
pub fn save<B: AutodiffBackend>(
    checkpoints: &Path,
    state: &EngineState<B>,
    ema: Option<&Generator<B::InnerBackend>>,
    progress: &RunProgress,
    model: &ModelConfig,
) -> Result<PathBuf, TrainError> {
    let write_error = |reason: TrainError| TrainError::CheckpointWrite {
        step: state.step,
        reason: Box::new(reason),
    };
    let encode = |file: &str, bytes: Result<Vec<u8>, RecordError>| {
        bytes.map_err(|error| TrainError::Record {
            file: file.to_string(),
            error,
        })
    };
    let files = [
        encode(CHECKPOINT_FILES[0], module_bytes(&state.generator))?,
        encode(CHECKPOINT_FILES[1], module_bytes(&state.critic))?,
        encode(CHECKPOINT_FILES[2], state.generator_optimizer.to_bytes())?,
        encode(CHECKPOINT_FILES[3], state.critic_optimizer.to_bytes())?,
    ];
    let ema = ema.map(|ema| encode(EMA_FILE, module_bytes(ema))).transpose()?;
    let manifest = CheckpointState {
        format: CHECKPOINT_FORMAT,
        step: state.step,
        elapsed_s: progress.elapsed_s,
        training_noise: state.training_noise.clone(),
        interpolation: state.interpolation.clone(),
        shuffle: state.batches.state().clone(),
        fixed_noise: progress.fixed_noise.clone(),
        model: model.clone(),
        spectral_norm: state.spectral_vectors.as_ref().map(SpectralNormState::of),
        checksums: Vec::new(),
    };
    write_checkpoint(checkpoints, manifest, &files, ema.as_deref()).map_err(write_error)
}

/// The engine state and run progress of a verified checkpoint. `template` is a state of the
/// same configuration (for example [`EngineState::initial`]) whose networks and optimizers
/// receive the saved records; `data_len` is the size of the dataset the run trains on.
pub fn restore<B: AutodiffBackend>(
    loaded: LoadedCheckpoint,
    template: EngineState<B>,
    config: &RunConfig,
    data_len: usize,
    device: &B::Device,
) -> Result<(EngineState<B>, RunProgress), CheckpointError> {
    let LoadedCheckpoint {
        path,
        state,
        files,
        ema,
    } = loaded;
    let record_error = |file: &str| {
        let path = path.join(file);
        move |error: RecordError| CheckpointError::Record { path, error }
    };
    let [generator, critic, generator_optimizer, critic_optimizer] = files;
    let batches = ShuffledBatches::restore(
        data_len,
        config.data.batch_size,
        data_order_seed(config.seed),
        state.shuffle,
    )
    .map_err(|error| CheckpointError::DataOrder {
        path: path.join("state.json"),
        error,
    })?;
    let generator_ema = match (template.generator_ema, ema) {
        (None, _) => None,
        (Some(_), None) => return Err(CheckpointError::MissingEma { path }),
        (Some(template), Some(bytes)) => Some(load_module(template, bytes, device).map_err(record_error(EMA_FILE))?),
    };
    let spectral_vectors = match (&template.spectral_vectors, state.spectral_norm) {
        (None, _) => None,
        (Some(_), None) => {
            return Err(CheckpointError::MissingSpectralNorm {
                path: path.join("state.json"),
            });
        }
        (Some(_), Some(saved)) => Some(
            SpectralVectors::from_values(&template.critic.valid(), saved.u, saved.v).map_err(|error| {
                CheckpointError::Architecture {
                    path: path.join("state.json"),
                    difference: error.to_string(),
                }
            })?,
        ),
    };
    let restored = EngineState {
        step: state.step,
        generator_ema,
        generator: load_module(template.generator, generator, device).map_err(record_error(CHECKPOINT_FILES[0]))?,
        critic: load_module(template.critic, critic, device).map_err(record_error(CHECKPOINT_FILES[1]))?,
        generator_optimizer: NetworkOptimizer::new(&config.optimizer.generator)
            .load_bytes(generator_optimizer, device)
            .map_err(record_error(CHECKPOINT_FILES[2]))?,
        critic_optimizer: NetworkOptimizer::new(&config.optimizer.critic)
            .load_bytes(critic_optimizer, device)
            .map_err(record_error(CHECKPOINT_FILES[3]))?,
        training_noise: state.training_noise,
        interpolation: state.interpolation,
        batches,
        spectral_vectors,
    };
    let progress = RunProgress {
        elapsed_s: state.elapsed_s,
        fixed_noise: state.fixed_noise,
    };
    Ok((restored, progress))
}

/// A network's record as bytes.
fn module_bytes<B: Backend, M: Module<B>>(module: &M) -> Result<Vec<u8>, RecordError> {
    CheckpointRecorder::default()
        .record(module.clone().into_record(), ())
        .map_err(RecordError::Encode)
}

/// `module` with the record in `bytes` loaded into it.
pub(crate) fn load_module<B: Backend, M: Module<B>>(
    module: M,
    bytes: Vec<u8>,
    device: &B::Device,
) -> Result<M, RecordError> {
    Ok(module.load_record(decode_record(bytes, device)?))
}

thread_local! {
    /// Set while this thread decodes a record: its panics are expected and reported as errors.
    static DECODING: Cell<bool> = const { Cell::new(false) };
}

/// Decodes a record from `bytes`.
///
/// burn 0.21's byte recorder unwraps some decoding errors (invalid UTF-8 in a name, for
/// example) instead of returning them. Checksums keep damaged files away from here, so this
/// only matters for bytes that were wrong when written; they become an error, not a panic.
///
/// The panic is caught on this thread, and only this thread's panic message is silenced
/// while it decodes: a panic hook installed once (wrapping whatever hook was there) checks a
/// thread-local flag, so panics elsewhere in the process are still reported.
pub(crate) fn decode_record<B: Backend, R: Record<B>>(bytes: Vec<u8>, device: &B::Device) -> Result<R, RecordError> {
    static QUIET_WHILE_DECODING: Once = Once::new();
    QUIET_WHILE_DECODING.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !DECODING.with(Cell::get) {
                previous(info);
            }
        }));
    });
    DECODING.with(|decoding| decoding.set(true));
    let decoded = catch_unwind(AssertUnwindSafe(|| CheckpointRecorder::default().load(bytes, device)));
    DECODING.with(|decoding| decoding.set(false));
    match decoded {
        Ok(record) => record.map_err(RecordError::Decode),
        Err(panic) => {
            let reason = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(RecordError::Malformed(reason))
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::Flex;
    use wgan_model::{Generator, ModelConfig, Variant};

    use super::*;
    use crate::{Stream, stream_rng};

    fn generator() -> Generator<Flex> {
        let model = ModelConfig::preset(Variant::WganGp, 4);
        Generator::new(&model, &mut stream_rng(0, Stream::Weights), &Default::default()).unwrap()
    }

    #[test]
    fn a_record_round_trips_and_bad_bytes_are_an_error_not_a_panic() {
        let bytes = module_bytes(&generator()).unwrap();
        assert!(load_module(generator(), bytes.clone(), &Default::default()).is_ok());
        // Bytes that were wrong when written (checksums pass them): burn's decoder fails on
        // some and panics on others; both must come back as an error.
        let noise: Vec<u8> = (0..bytes.len()).map(|i| (i * 131 % 251) as u8).collect();
        for (what, bytes) in [("truncated", bytes[..bytes.len() / 2].to_vec()), ("noise", noise)] {
            let err = load_module(generator(), bytes, &Default::default())
                .err()
                .unwrap_or_else(|| panic!("{what}: decoded"));
            assert!(
                matches!(err, RecordError::Decode(_) | RecordError::Malformed(_)),
                "{what}: {err}"
            );
        }
        // Panics on this thread are reported again once decoding is over.
        assert!(!DECODING.with(Cell::get));
    }
}
