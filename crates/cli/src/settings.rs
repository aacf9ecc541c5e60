//! Resolving command-line arguments into validated settings.

use std::path::{Path, PathBuf};

use anyhow::Context;
use wgan_train::RunConfig;

use crate::UserError;
/// Reads, merges and validates the configuration file `path` with `overrides` applied in order.
pub fn load_config(path: &Path, overrides: &[String]) -> anyhow::Result<RunConfig> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| UserError(format!("cannot read config file {}: {err}", path.display())))?;
    RunConfig::from_toml(&text, overrides).with_context(|| format!("config file {}", path.display()))
}

/// Where a run goes: `out` if given, else `runs/<config stem>`, suffixed `-2`, `-3`, … while
/// that directory already holds a run.
pub fn run_directory(out: Option<&Path>, config: &Path) -> PathBuf {
    if let Some(out) = out {
        return out.to_path_buf();
    }
    let stem = config.file_stem().and_then(|s| s.to_str()).unwrap_or("run");
    let base = Path::new("runs").join(stem);
    std::iter::once(base.clone())
        .chain((2..).map(|n| Path::new("runs").join(format!("{stem}-{n}"))))
        .find(|dir| !dir.join("metrics.jsonl").exists())
        .unwrap_or(base)
}
