//! How the training loop reports progress without printing: the caller implements this.

use std::path::Path;

use crate::StepMetrics;

/// Receives progress events from [`crate::Run::run`]. Every method has an empty default.
pub trait TrainObserver {
    /// Training begins at generator step `first_step` (0 for a new run) of `total_steps`.
    fn started(&mut self, _first_step: u64, _total_steps: u64) {}
    /// A generator step finished.
    fn step(&mut self, _metrics: &StepMetrics) {}
    /// An artifact (sample grid, plot) was written.
    fn wrote(&mut self, _path: &Path) {}
    /// Something went wrong that does not stop training (e.g. a plot could not be drawn).
    fn warning(&mut self, _message: &str) {}
    /// Asked after every step: `true` stops training after a checkpoint (e.g. on Ctrl-C).
    fn should_stop(&mut self) -> bool {
        false
    }
    /// Training ended normally.
    fn finished(&mut self, _last: Option<&StepMetrics>) {}
}

/// An observer that ignores everything.
pub struct Silent;

impl TrainObserver for Silent {}
