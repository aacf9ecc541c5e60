//! What a run writes for people to look at, besides `metrics.jsonl` and checkpoints.

use serde::{Deserialize, Serialize};

use crate::ConfigError;

/// TensorBoard, sample grids and plots. Every field has a default, so configs written before
/// this section existed still load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingConfig {
    /// Write TensorBoard event files to `RUN/tensorboard/`.
    pub tensorboard: bool,
    /// Each sample grid pixel drawn as `grid_scale × grid_scale` pixels (nearest
    /// neighbour), in `samples/` and TensorBoard; 1 to 16.
    pub grid_scale: u32,
    /// Weight of the exponential moving average drawn over the raw curves in the run's
    /// plots, as TensorBoard's smoothing slider (0: none); in [0, 1).
    pub smoothing: f64,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            tensorboard: true,
            grid_scale: 1,
            smoothing: 0.6,
        }
    }
}

impl LoggingConfig {
    /// The largest `grid_scale`.
    pub const MAX_GRID_SCALE: u32 = 16;

    /// Checks the ranges; errors name the `logging.` field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=Self::MAX_GRID_SCALE).contains(&self.grid_scale) {
            return Err(range("grid_scale", format!("must be 1 to {}", Self::MAX_GRID_SCALE)));
        }
        if !(0.0..1.0).contains(&self.smoothing) {
            return Err(range("smoothing", "must be in [0, 1)".into()));
        }
        Ok(())
    }
}

fn range(field: &str, reason: String) -> ConfigError {
    ConfigError::Range {
        field: format!("logging.{field}"),
        reason,
    }
}
