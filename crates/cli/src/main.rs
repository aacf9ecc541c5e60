//! `wgan`: train, inspect and use WGAN / WGAN-GP models.
//!
//! The binary is glue: it parses arguments, resolves settings, and calls the library crates.
//! Exit codes: 0 success, 1 user error (bad config, missing data, bad arguments, a run directory
//! that cannot be written or is in use), 2 internal (and non-finite losses),
//! 130 training stopped by Ctrl-C after writing a checkpoint.

mod args;
mod commands;
mod dataset;
mod device;
mod progress;
mod settings;

use std::process::ExitCode;

use clap::Parser;

/// An error the user can fix; exit code 1. Anything else is internal (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UserError(String);

fn main() -> ExitCode {
    ignore_file_size_signal();
    let cli = args::Cli::parse();
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {err:#}");
            if err.chain().any(|cause| cause.is::<UserError>() || is_user_error(cause)) {
                ExitCode::from(1)
            } else {
                ExitCode::from(2)
            }
        }
    }
}

/// Library errors caused by inputs the user controls.
fn is_user_error(cause: &(dyn std::error::Error + 'static)) -> bool {
    cause.is::<wgan_train::ConfigError>()
        || cause.is::<wgan_data::DataError>()
        || cause.is::<wgan_model::ModelError>()
        || matches!(
            cause.downcast_ref::<wgan_eval::EvalError>(),
            Some(wgan_eval::EvalError::Io { .. } | wgan_eval::EvalError::Classifier { .. })
        )
        || matches!(
            cause.downcast_ref::<wgan_train::TrainError>(),
            Some(
                wgan_train::TrainError::RunExists { .. }
                    | wgan_train::TrainError::Locked { .. }
                    | wgan_train::TrainError::Io { .. }
                    | wgan_train::TrainError::CheckpointWrite { .. }
                    | wgan_train::TrainError::Data(_)
                    | wgan_train::TrainError::NoCheckpoint { .. }
            )
        )
}

/// With a file-size limit (`ulimit -f`), a write past it raises SIGXFSZ, whose default action
/// kills the process without a word. Ignored, the write fails with EFBIG instead, and that
/// error is reported like a full disk: with the file named and the last checkpoint kept.
fn ignore_file_size_signal() {
    // SAFETY: called first thing in `main`, before any other thread exists; SIG_IGN installs
    // no handler code.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}
