//! `wgan plot RUN_DIR`: redraw the plots from the metrics log.

use anyhow::Context;
use wgan_train::{RunDir, plot_losses, plot_quality, read_metrics};

use crate::args::PlotArgs;

/// Reads `RUN_DIR/metrics.jsonl` and writes `RUN_DIR/plots/losses.png`, and
/// `RUN_DIR/plots/quality.png` if the run measured quality.
pub fn run(args: &PlotArgs) -> anyhow::Result<()> {
    let run_dir = RunDir::new(&args.run_dir);
    let records = read_metrics(&run_dir.metrics()).context("reading the run's metrics")?;
    std::fs::create_dir_all(run_dir.plots_dir())
        .with_context(|| format!("creating {}", run_dir.plots_dir().display()))?;
    plot_losses(&run_dir.loss_plot(), &records)?;
    println!("{}", run_dir.loss_plot().display());
    if records.iter().any(|m| m.quality.is_some()) {
        plot_quality(&run_dir.quality_plot(), &records)?;
        println!("{}", run_dir.quality_plot().display());
    }
    Ok(())
}
