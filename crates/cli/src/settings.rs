//! Resolving command-line arguments into validated settings.

use anyhow::Context;
use wgan_train::RunConfig;

use crate::UserError;
use crate::args::ConfigArgs;

/// Reads, merges and validates the configuration named on the command line.
pub fn load_config(args: &ConfigArgs) -> anyhow::Result<RunConfig> {
    let path = &args.config;
    let text = std::fs::read_to_string(path)
        .map_err(|err| UserError(format!("cannot read config file {}: {err}", path.display())))?;
    RunConfig::from_toml(&text, &args.overrides).with_context(|| format!("config file {}", path.display()))
}
