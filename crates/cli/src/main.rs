//! `wgan`: train, inspect and use WGAN / WGAN-GP models.
//!
//! The binary is glue: it parses arguments, resolves settings, and calls the library crates.
//! Exit codes: 0 success (and `--help`, `--version`), 1 user error (bad arguments, a bad config,
//! missing or corrupt data, checkpoints or classifier, a run directory that cannot be written or
//! is in use), 2 internal (and non-finite losses), 130 training stopped by Ctrl-C after writing
//! a checkpoint.

mod args;
mod commands;
mod dataset;
mod device;
mod nodes;
mod progress;
mod settings;

use std::process::ExitCode;

use clap::Parser;

/// An error the user can fix; exit code 1. Anything else is internal (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UserError(String);

fn main() -> ExitCode {
    set_signal_actions();
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return exit_on_bad_arguments(&err),
    };
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {err:#}");
            if is_user_error(&err) {
                ExitCode::from(1)
            } else {
                ExitCode::from(2)
            }
        }
    }
}

/// Prints clap's message; `--help` and `--version` exit 0, anything else is a user error
/// (exit 1), not clap's default 2, which here means an internal error.
fn exit_on_bad_arguments(err: &clap::Error) -> ExitCode {
    // Printing to a closed stdout or stderr is no reason to fail differently.
    let _ = err.print();
    if err.use_stderr() {
        ExitCode::from(1)
    } else {
        ExitCode::from(0)
    }
}

/// Whether the user can fix `err`: decided by the outermost error in its chain that knows,
/// that is, the binary's own [`UserError`] or a library error's `is_user_error()`.
fn is_user_error(err: &anyhow::Error) -> bool {
    err.chain().find_map(knows_if_user_error).unwrap_or(false)
}

/// `Some(is_user_error)` if `cause` is one of the errors that say so.
fn knows_if_user_error(cause: &(dyn std::error::Error + 'static)) -> Option<bool> {
    macro_rules! ask {
        ($($error:ty),+) => {
            $(if let Some(error) = cause.downcast_ref::<$error>() {
                return Some(error.is_user_error());
            })+
        };
    }
    if cause.is::<UserError>() {
        return Some(true);
    }
    ask!(
        wgan_train::TrainError,
        wgan_train::ConfigError,
        wgan_train::CheckpointError,
        wgan_data::DataError,
        wgan_model::ModelError,
        wgan_eval::EvalError
    );
    None
}

/// With a file-size limit (`ulimit -f`), a write past it raises SIGXFSZ, whose default action
/// kills the process without a word. Ignored, the write fails with EFBIG instead, and that
/// error is reported like a full disk: with the file named and the last checkpoint kept.
///
/// SIGPIPE gets its default action back (Rust ignores it, so `println!` into a closed pipe
/// panics): `wgan eval --json | head -c 10` ends quietly, as Unix tools do, instead of
/// printing a backtrace. Files are never pipes, so checkpoints are unaffected.
fn set_signal_actions() {
    // SAFETY: called first thing in `main`, before any other thread exists; SIG_IGN and
    // SIG_DFL install no handler code.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
