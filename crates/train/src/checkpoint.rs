//! Checkpoints: everything needed to continue a run exactly, written atomically.
//!
//! A checkpoint is a directory `RUN/checkpoints/step-NNNNNN/` holding
//!
//! - `generator.bin`, `critic.bin`: burn records of both networks (with ParamIds and the
//!   BatchNorm running statistics), full precision;
//! - `generator-optimizer.bin`, `critic-optimizer.bin`: both optimizer states, keyed by ParamId;
//! - `state.json`, written last: the format version, the step, the random streams, the data
//!   order, the fixed sample noise, the architecture, and the SHA-256 of every other file.
//!
//! It is written to `checkpoints/.partial-step-NNNNNN/`, every file fsynced, then renamed into
//! place and the parent directory fsynced, so a crash at any moment leaves either the new
//! checkpoint or none, never half of one.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wgan_data::ShuffleState;
use wgan_model::ModelConfig;

use crate::{NoiseSource, TrainError};

/// Version of the checkpoint layout; a checkpoint of another version is refused.
pub const CHECKPOINT_FORMAT: u32 = 1;

/// Network and optimizer files of a checkpoint, in the order they are written.
pub const CHECKPOINT_FILES: [&str; 4] = [
    "generator.bin",
    "critic.bin",
    "generator-optimizer.bin",
    "critic-optimizer.bin",
];

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
    /// `(file name, SHA-256 hex)` of every file in [`CHECKPOINT_FILES`].
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
    pub files: Vec<Vec<u8>>,
}

/// Why a checkpoint cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// A file is missing or unreadable.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `state.json` is not a checkpoint state.
    #[error("{}: corrupt state file: {reason}", path.display())]
    State {
        /// The state file.
        path: PathBuf,
        /// The parse error.
        reason: String,
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
    /// The networks in the checkpoint do not have the configured architecture.
    #[error("{}: architecture differs from the config: {difference}", path.display())]
    Architecture {
        /// The checkpoint.
        path: PathBuf,
        /// What differs.
        difference: String,
    },
    /// A record could not be decoded into the networks or optimizers.
    #[error("{}: {reason}", path.display())]
    Record {
        /// The file.
        path: PathBuf,
        /// What burn reported.
        reason: String,
    },
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    let io = |source| TrainError::io(path, source);
    let mut file = File::create(path).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

fn sync_dir(path: &Path) -> Result<(), TrainError> {
    File::open(path)
        .and_then(|dir| dir.sync_all())
        .map_err(|source| TrainError::io(path, source))
}

/// Directory name of the checkpoint at `step`.
pub fn checkpoint_name(step: u64) -> String {
    format!("step-{step:06}")
}

/// Writes a checkpoint atomically into `checkpoints/step-NNNNNN` and returns its path.
/// `files` are the contents of [`CHECKPOINT_FILES`], in order.
pub fn write_checkpoint(
    checkpoints: &Path,
    mut state: CheckpointState,
    files: &[Vec<u8>; 4],
) -> Result<PathBuf, TrainError> {
    std::fs::create_dir_all(checkpoints).map_err(|source| TrainError::io(checkpoints, source))?;
    let name = checkpoint_name(state.step);
    let partial = checkpoints.join(format!(".partial-{name}"));
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(|source| TrainError::io(&partial, source))?;
    }
    let written = write_partial(&partial, &mut state, files);
    if written.is_err() {
        // Free the space a full disk needs back; the partial directory is never read anyway.
        let _ = std::fs::remove_dir_all(&partial);
    }
    written?;
    let target = checkpoints.join(&name);
    if target.exists() {
        // Same step written again (a resumed run finishing where it started): same content.
        std::fs::remove_dir_all(&target).map_err(|source| TrainError::io(&target, source))?;
    }
    std::fs::rename(&partial, &target).map_err(|source| TrainError::io(&target, source))?;
    sync_dir(checkpoints)?;
    Ok(target)
}

/// Writes every file of a checkpoint into the directory `partial` and syncs it.
fn write_partial(partial: &Path, state: &mut CheckpointState, files: &[Vec<u8>; 4]) -> Result<(), TrainError> {
    std::fs::create_dir(partial).map_err(|source| TrainError::io(partial, source))?;
    state.checksums.clear();
    for (file, bytes) in CHECKPOINT_FILES.iter().zip(files) {
        write_synced(&partial.join(file), bytes)?;
        state.checksums.push((file.to_string(), sha256_hex(bytes)));
    }
    let json = serde_json::to_vec_pretty(&*state).map_err(|err| TrainError::Internal(err.to_string()))?;
    write_synced(&partial.join("state.json"), &json)?;
    sync_dir(partial)
}

/// Reads and verifies the checkpoint in `dir`: format version, checksums, architecture.
pub fn read_checkpoint(dir: &Path, model: &ModelConfig) -> Result<LoadedCheckpoint, CheckpointError> {
    let state_path = dir.join("state.json");
    let text = std::fs::read(&state_path).map_err(|source| CheckpointError::Io {
        path: state_path.clone(),
        source,
    })?;
    let version: serde_json::Value = serde_json::from_slice(&text).map_err(|err| CheckpointError::State {
        path: state_path.clone(),
        reason: err.to_string(),
    })?;
    let found = version.get("format").and_then(serde_json::Value::as_u64).unwrap_or(0) as u32;
    if found != CHECKPOINT_FORMAT {
        return Err(CheckpointError::Version {
            path: state_path,
            found,
        });
    }
    let state: CheckpointState = serde_json::from_value(version).map_err(|err| CheckpointError::State {
        path: state_path.clone(),
        reason: err.to_string(),
    })?;
    if &state.model != model {
        return Err(CheckpointError::Architecture {
            path: dir.to_path_buf(),
            difference: describe_difference(&state.model, model),
        });
    }
    let mut files = Vec::with_capacity(CHECKPOINT_FILES.len());
    for file in CHECKPOINT_FILES {
        let path = dir.join(file);
        let bytes = std::fs::read(&path).map_err(|source| CheckpointError::Io {
            path: path.clone(),
            source,
        })?;
        let recorded = state
            .checksums
            .iter()
            .find(|(name, _)| name == file)
            .map(|(_, hash)| hash.as_str());
        if recorded != Some(sha256_hex(&bytes).as_str()) {
            return Err(CheckpointError::Checksum { path });
        }
        files.push(bytes);
    }
    Ok(LoadedCheckpoint {
        path: dir.to_path_buf(),
        state,
        files,
    })
}

fn describe_difference(saved: &ModelConfig, configured: &ModelConfig) -> String {
    let saved = toml::to_string(saved).unwrap_or_default();
    let configured = toml::to_string(configured).unwrap_or_default();
    saved
        .lines()
        .zip(configured.lines())
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("checkpoint has `{a}`, config has `{b}`"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Checkpoint directories in `checkpoints`, newest (highest step) first.
pub fn list_checkpoints(checkpoints: &Path) -> Vec<(u64, PathBuf)> {
    let mut found: Vec<(u64, PathBuf)> = std::fs::read_dir(checkpoints)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let step = name.strip_prefix("step-")?.parse().ok()?;
            Some((step, entry.path()))
        })
        .collect();
    found.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    found
}

/// Deletes all but the newest `keep` checkpoints, and any partial ones left by a crash.
pub fn prune_checkpoints(checkpoints: &Path, keep: usize) -> Result<(), TrainError> {
    for (_, path) in list_checkpoints(checkpoints).into_iter().skip(keep.max(1)) {
        std::fs::remove_dir_all(&path).map_err(|source| TrainError::io(&path, source))?;
    }
    for entry in std::fs::read_dir(checkpoints).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with(".partial-") {
            let path = entry.path();
            std::fs::remove_dir_all(&path).map_err(|source| TrainError::io(&path, source))?;
        }
    }
    Ok(())
}
