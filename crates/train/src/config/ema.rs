//! The generator's exponential moving average (G_ema): how fast it forgets, when it starts,
//! and how its BatchNorm statistics are made.

use serde::{Deserialize, Serialize};

use crate::ConfigError;

/// Where G_ema's BatchNorm running statistics come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EmaBatchNorm {
    /// Recomputed for the averaged weights before G_ema is sampled, measured or saved
    /// ("precise BatchNorm"): the equal-weight mean of the batch statistics over
    /// `batch_norm_batches` fixed noise batches, with every BatchNorm in training mode.
    Recompute,
    /// The raw generator's running statistics, copied after every update.
    Copy,
}

/// `[ema]`: present means G_ema is kept. Every field has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmaConfig {
    /// `θ_ema ← β·θ_ema + (1 − β)·θ` after every generator step, with β = `decay` once the
    /// ramp-up is over; in (0, 1). Its half-life is `ln ½ / ln decay` steps (693 for 0.999).
    pub decay: f64,
    /// Generator steps before averaging starts; until then G_ema is a copy of G.
    pub start_step: u64,
    /// StyleGAN2's ramp-up: the half-life is at most `ramp_up ×` the steps averaged so far,
    /// so early, poor weights are forgotten quickly. 0 turns it off (β = `decay` from the
    /// start); in [0, 1].
    pub ramp_up: f64,
    /// Where G_ema's BatchNorm statistics come from.
    pub batch_norm: EmaBatchNorm,
    /// Noise batches (of `data.batch_size`) behind recomputed statistics; at least 1.
    pub batch_norm_batches: usize,
}

impl Default for EmaConfig {
    fn default() -> Self {
        Self {
            decay: 0.999,
            start_step: 0,
            ramp_up: 0.05,
            batch_norm: EmaBatchNorm::Recompute,
            batch_norm_batches: 32,
        }
    }
}

impl EmaConfig {
    /// β of the update that completes generator step `step` (from 1): 0 (a copy) up to
    /// `start_step`, then `decay`, or less while the ramp-up limits the half-life.
    pub fn beta(&self, step: u64) -> f64 {
        if step <= self.start_step {
            return 0.0;
        }
        if self.ramp_up <= 0.0 {
            return self.decay;
        }
        let averaged = (step - self.start_step) as f64;
        let half_life = self.half_life().min(self.ramp_up * averaged);
        if half_life <= 0.0 {
            return 0.0;
        }
        0.5f64.powf(1.0 / half_life).min(self.decay)
    }

    /// Half-life of the average in generator steps once the ramp-up is over.
    pub fn half_life(&self) -> f64 {
        0.5f64.ln() / self.decay.ln()
    }

    /// Checks the ranges; errors name the `ema.` field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let range = |field: &str, reason: String| {
            Err(ConfigError::Range {
                field: format!("ema.{field}"),
                reason,
            })
        };
        if !(self.decay > 0.0 && self.decay < 1.0) {
            return range("decay", format!("must be in (0, 1), got {}", self.decay));
        }
        if !(0.0..=1.0).contains(&self.ramp_up) {
            return range("ramp_up", format!("must be in [0, 1], got {}", self.ramp_up));
        }
        if self.batch_norm_batches == 0 {
            return range("batch_norm_batches", "must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beta_copies_before_the_start_then_ramps_up_to_the_decay() {
        let ema = EmaConfig {
            start_step: 10,
            ..EmaConfig::default()
        };
        assert_eq!(ema.beta(1), 0.0);
        assert_eq!(ema.beta(10), 0.0);
        // 20 steps averaged: half-life 0.05 · 20 = 1 step, β = ½.
        assert!((ema.beta(30) - 0.5).abs() < 1e-12);
        // 600 steps: half-life 30.
        assert!((ema.beta(610) - 0.5f64.powf(1.0 / 30.0)).abs() < 1e-12);
        // Far out, the half-life is the decay's own (693 steps).
        assert!((ema.beta(1_000_000) - 0.999).abs() < 1e-12);
        let plain = EmaConfig {
            ramp_up: 0.0,
            ..EmaConfig::default()
        };
        assert_eq!(plain.beta(1), 0.999);
        assert!((EmaConfig::default().half_life() - 692.8).abs() < 0.1);
    }

    #[test]
    fn out_of_range_values_name_the_field() {
        for (ema, field) in [
            (
                EmaConfig {
                    decay: 1.0,
                    ..EmaConfig::default()
                },
                "ema.decay",
            ),
            (
                EmaConfig {
                    ramp_up: -0.1,
                    ..EmaConfig::default()
                },
                "ema.ramp_up",
            ),
            (
                EmaConfig {
                    batch_norm_batches: 0,
                    ..EmaConfig::default()
                },
                "ema.batch_norm_batches",
            ),
        ] {
            let err = ema.validate().unwrap_err().to_string();
            assert!(err.contains(field), "{err}");
        }
    }
}
