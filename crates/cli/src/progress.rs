//! Progress reporting: an indicatif bar on a terminal, plain log lines otherwise.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use wgan_train::{StepMetrics, TrainObserver};

/// Reports training progress on stderr.
pub struct Progress {
    bar: Option<ProgressBar>,
    log_interval: u64,
    total: u64,
    first_step: u64,
    started: Instant,
    interrupted: Arc<AtomicBool>,
}

impl Progress {
    /// A bar when stderr is a terminal, else a line every `log_interval` steps. Training stops
    /// (after a checkpoint) once `interrupted` is set.
    pub fn new(log_interval: u64, interrupted: Arc<AtomicBool>) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            let style =
                ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} steps  {per_sec}  ETA {eta}  {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        Self {
            bar,
            log_interval: log_interval.max(1),
            total: 0,
            first_step: 0,
            started: Instant::now(),
            interrupted,
        }
    }

    fn print(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }
}

/// `critic -1.234  gen 0.567  W 1.234  GP 0.012`.
fn losses(m: &StepMetrics) -> String {
    let gp = m.gradient_penalty.map(|gp| format!("  GP {gp:.4}")).unwrap_or_default();
    format!(
        "critic {:.4}  gen {:.4}  W {:.4}{gp}",
        m.critic_loss, m.generator_loss, m.wasserstein_estimate
    )
}

impl TrainObserver for Progress {
    fn started(&mut self, first_step: u64, total_steps: u64) {
        self.total = total_steps;
        self.first_step = first_step;
        self.started = Instant::now();
        if let Some(bar) = &self.bar {
            bar.set_length(total_steps);
            bar.set_position(first_step);
            bar.reset_eta();
        }
    }

    fn step(&mut self, metrics: &StepMetrics) {
        if let Some(quality) = &metrics.quality {
            self.print(&format!(
                "step {}: FD-FMNIST {:.3}  IS {:.3} ± {:.3}",
                metrics.step, quality.fd_fmnist, quality.inception_score, quality.inception_score_std
            ));
        }
        if let Some(bar) = &self.bar {
            bar.set_position(metrics.step);
            bar.set_message(losses(metrics));
            return;
        }
        if metrics.step.is_multiple_of(self.log_interval) || metrics.step == self.total {
            let done = (metrics.step - self.first_step) as f64;
            let rate = done / self.started.elapsed().as_secs_f64().max(1e-9);
            let eta = (self.total - metrics.step) as f64 / rate.max(1e-9);
            eprintln!(
                "step {}/{}  {rate:.2} steps/s  ETA {eta:.0}s  {}",
                metrics.step,
                self.total,
                losses(metrics)
            );
        }
    }

    fn wrote(&mut self, path: &Path) {
        if self.bar.is_none() {
            eprintln!("wrote {}", path.display());
        }
    }

    fn warning(&mut self, message: &str) {
        self.print(&format!("warning: {message}"));
    }

    fn should_stop(&mut self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    fn finished(&mut self, last: Option<&StepMetrics>) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
        if let Some(last) = last {
            let rate = (last.step - self.first_step) as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
            eprintln!("finished step {}: {rate:.2} steps/s, {}", last.step, losses(last));
        }
    }
}
