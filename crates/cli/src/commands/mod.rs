//! One module per subcommand.

mod export;
mod info;
mod plot;
mod sample;
mod train;

use crate::args::{Cli, Command};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train(args) => train::run(&args),
        Command::Plot(args) => plot::run(&args),
        Command::Sample(args) => sample::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Info(args) => info::run(&args),
    }
}
