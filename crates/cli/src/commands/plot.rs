//! `wgan plot RUN_DIR`: redraw the loss plot from the metrics log.

use anyhow::Context;
use wgan_train::{RunDir, plot_losses, read_metrics};

use crate::args::PlotArgs;

/// Reads `RUN_DIR/metrics.jsonl` and writes `RUN_DIR/plots/losses.png`.
pub fn run(args: &PlotArgs) -> anyhow::Result<()> {
    let run_dir = RunDir::new(&args.run_dir);
    let records = read_metrics(&run_dir.metrics()).context("reading the run's metrics")?;
    std::fs::create_dir_all(run_dir.plots_dir())
        .with_context(|| format!("creating {}", run_dir.plots_dir().display()))?;
    plot_losses(&run_dir.loss_plot(), &records)?;
    println!("{}", run_dir.loss_plot().display());
    Ok(())
}
