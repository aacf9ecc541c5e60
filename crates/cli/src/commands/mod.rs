//! One module per subcommand.

mod bench;
mod classifier;
mod compare;
mod data;
mod eval;
mod export;
mod info;
mod plot;
mod sample;
mod train;

use crate::args::{ClassifierCommand, Cli, Command, DataCommand};

/// Runs the parsed command line; returns the exit code of a run that did not fail.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Train(args) => train::run(&args),
        Command::Plot(args) => plot::run(&args).map(|()| 0),
        Command::Compare(args) => compare::run(&args).map(|()| 0),
        Command::Sample(args) => sample::run(&args).map(|()| 0),
        Command::Export(args) => export::run(&args).map(|()| 0),
        Command::Info(args) => info::run(&args).map(|()| 0),
        Command::Classifier(ClassifierCommand::Train(args)) => classifier::train(&args).map(|()| 0),
        Command::Eval(args) => eval::run(&args).map(|()| 0),
        Command::Bench(args) => bench::run(&args).map(|()| 0),
        Command::Data(DataCommand::Inspect(args)) => data::inspect(&args).map(|()| 0),
        Command::Data(DataCommand::Prepare(args)) => data::prepare(&args).map(|()| 0),
        Command::Data(DataCommand::Export(args)) => data::export(&args).map(|()| 0),
        Command::Devices => {
            crate::device::listing().iter().for_each(|line| println!("{line}"));
            Ok(0)
        }
    }
}
