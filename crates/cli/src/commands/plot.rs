//! `wgan plot RUN_DIR`: redraw the plots from the metrics log.

use anyhow::Context;
use wgan_train::{RunDir, plot_run, read_metrics};

use crate::UserError;
use crate::args::PlotArgs;
use crate::settings::load_config;

/// Reads `RUN_DIR/metrics.jsonl` and writes `RUN_DIR/plots/losses.{png,svg}`, and
/// `RUN_DIR/plots/quality.{png,svg}` if the run measured quality.
pub fn run(args: &PlotArgs) -> anyhow::Result<()> {
    let run_dir = RunDir::new(&args.run_dir);
    let records = read_metrics(&run_dir.metrics()).context("reading the run's metrics")?;
    let smoothing = match args.smooth {
        Some(weight) if (0.0..1.0).contains(&weight) => weight,
        Some(weight) => return Err(UserError(format!("--smooth {weight}: must be in [0, 1)")).into()),
        None if run_dir.config().is_file() => load_config(&run_dir.config(), &[])?.logging.smoothing,
        None => wgan_train::LoggingConfig::default().smoothing,
    };
    std::fs::create_dir_all(run_dir.plots_dir())
        .with_context(|| format!("creating {}", run_dir.plots_dir().display()))?;
    for (path, drawn) in plot_run(&run_dir, &records, smoothing) {
        drawn?;
        println!("{}", path.display());
    }
    Ok(())
}
