//! Command-line arguments: every argument's doc comment is its `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Train and inspect WGAN / WGAN-GP models on Fashion-MNIST.
#[derive(Debug, Parser)]
#[command(name = "wgan", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the resolved configuration and a layer summary of both networks.
    Info(InfoArgs),
}

/// A configuration file plus overrides.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Run configuration (TOML), e.g. configs/wgan-gp.toml.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Override any config field by its dotted path, e.g. --set model.dim=64 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

/// `wgan info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Which configuration to describe.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}
