//! The on-disk side of checkpoints: atomic, fsynced directory writes; reading back with every
//! checksum verified; listing, pruning, and restoring the newest that loads.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use burn::tensor::backend::AutodiffBackend;
use sha2::{Digest, Sha256};
use wgan_model::ModelConfig;

use super::{
    CHECKPOINT_FILES, CHECKPOINT_FORMAT, CheckpointError, CheckpointState, EMA_FILE, LoadedCheckpoint, RunProgress,
    restore,
};
use crate::engine::EngineState;
use crate::{RunConfig, TrainError};

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
/// `files` are the contents of [`CHECKPOINT_FILES`], in order; `ema` that of [`EMA_FILE`].
pub fn write_checkpoint(
    checkpoints: &Path,
    mut state: CheckpointState,
    files: &[Vec<u8>; 4],
    ema: Option<&[u8]>,
) -> Result<PathBuf, TrainError> {
    std::fs::create_dir_all(checkpoints).map_err(|source| TrainError::io(checkpoints, source))?;
    let name = checkpoint_name(state.step);
    let partial = checkpoints.join(format!(".partial-{name}"));
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(|source| TrainError::io(&partial, source))?;
    }
    let written = write_partial(&partial, &mut state, files, ema);
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
fn write_partial(
    partial: &Path,
    state: &mut CheckpointState,
    files: &[Vec<u8>; 4],
    ema: Option<&[u8]>,
) -> Result<(), TrainError> {
    std::fs::create_dir(partial).map_err(|source| TrainError::io(partial, source))?;
    state.checksums.clear();
    let named = CHECKPOINT_FILES.iter().zip(files.iter().map(Vec::as_slice));
    for (file, bytes) in named.chain(ema.map(|bytes| (&EMA_FILE, bytes))) {
        write_synced(&partial.join(file), bytes)?;
        state.checksums.push((file.to_string(), sha256_hex(bytes)));
    }
    let json = serde_json::to_vec_pretty(&*state).map_err(TrainError::Json)?;
    write_synced(&partial.join("state.json"), &json)?;
    sync_dir(partial)
}

/// Reads and verifies the checkpoint in `dir`: format version, checksums, architecture.
pub fn read_checkpoint(dir: &Path, model: &ModelConfig) -> Result<LoadedCheckpoint, CheckpointError> {
    let state_path = dir.join("state.json");
    let text = std::fs::read(&state_path).map_err(|error| CheckpointError::Io {
        path: state_path.clone(),
        error,
    })?;
    let version: serde_json::Value = serde_json::from_slice(&text).map_err(|error| CheckpointError::State {
        path: state_path.clone(),
        error,
    })?;
    let found = version.get("format").and_then(serde_json::Value::as_u64).unwrap_or(0) as u32;
    if found != CHECKPOINT_FORMAT {
        return Err(CheckpointError::Version {
            path: state_path,
            found,
        });
    }
    let state: CheckpointState = serde_json::from_value(version).map_err(|error| CheckpointError::State {
        path: state_path.clone(),
        error,
    })?;
    if &state.model != model {
        return Err(CheckpointError::Architecture {
            path: dir.to_path_buf(),
            difference: describe_difference(&state.model, model),
        });
    }
    let mut files: [Vec<u8>; 4] = Default::default();
    for (file, contents) in CHECKPOINT_FILES.into_iter().zip(&mut files) {
        *contents = read_verified(dir, &state, file)?;
    }
    let has_ema = state.checksums.iter().any(|(name, _)| name == EMA_FILE);
    let ema = if has_ema {
        Some(read_verified(dir, &state, EMA_FILE)?)
    } else {
        None
    };
    Ok(LoadedCheckpoint {
        path: dir.to_path_buf(),
        state,
        files,
        ema,
    })
}

/// The bytes of `dir/file`, checked against the SHA-256 recorded for it in `state`.
fn read_verified(dir: &Path, state: &CheckpointState, file: &str) -> Result<Vec<u8>, CheckpointError> {
    let path = dir.join(file);
    let bytes = std::fs::read(&path).map_err(|error| CheckpointError::Io {
        path: path.clone(),
        error,
    })?;
    let recorded = state
        .checksums
        .iter()
        .find(|(name, _)| name == file)
        .map(|(_, hash)| hash.as_str());
    if recorded != Some(sha256_hex(&bytes).as_str()) {
        return Err(CheckpointError::Checksum { path });
    }
    Ok(bytes)
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

/// A run's state restored from one of its checkpoints.
pub struct Restored<B: AutodiffBackend> {
    /// The engine's state at the checkpoint's step.
    pub state: EngineState<B>,
    /// What the run directory needs to continue (the fixed sample noise).
    pub progress: RunProgress,
    /// The checkpoint it came from.
    pub path: PathBuf,
}

/// The newest checkpoint in `checkpoints` that loads into an engine for `config` (training
/// on `data_len` images, on `device`), with the newer ones that did not load and why.
/// `None` when there is no checkpoint; an error naming every failure when none loads. Every
/// process of a run resumes through this, so all of them pick the same checkpoint.
pub fn restore_newest<B: AutodiffBackend>(
    checkpoints: &Path,
    config: &RunConfig,
    data_len: usize,
    device: &B::Device,
) -> Result<(Option<Restored<B>>, Vec<CheckpointError>), TrainError> {
    let found = list_checkpoints(checkpoints);
    if found.is_empty() {
        return Ok((None, Vec::new()));
    }
    let mut skipped = Vec::new();
    for (_, path) in found {
        let template = EngineState::initial(config, data_len, device)?;
        let restored = read_checkpoint(&path, &config.model)
            .and_then(|loaded| restore(loaded, template, config, data_len, device));
        match restored {
            Ok((state, progress)) => return Ok((Some(Restored { state, progress, path }), skipped)),
            Err(error) => skipped.push(error),
        }
    }
    Err(TrainError::NoCheckpoint {
        path: checkpoints.to_path_buf(),
        tried: skipped.iter().map(ToString::to_string).collect(),
    })
}
