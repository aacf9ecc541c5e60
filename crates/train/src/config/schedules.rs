//! Schedules over the run: each network's learning rate, and the critic steps per
//! generator step.

use serde::{Deserialize, Serialize};

/// How a network's learning rate moves over the run: the configured rate times a factor of
/// the generator step `t` (0-based; the critic steps inside generator step `t` use `t` too)
/// and the decay length `T`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LearningRateSchedule {
    /// Factor 1 throughout (the seeds).
    #[default]
    Constant,
    /// `max(0, 1 − t/T)`: linear decay to 0, as in the WGAN-GP authors' CIFAR-10 runs.
    Linear,
    /// `(1 + cos(π·min(t, T)/T))/2`: cosine decay to 0 (Loshchilov & Hutter 2017, no restarts).
    Cosine,
}

impl LearningRateSchedule {
    /// The factor at generator step `step` of a decay over `length` steps (`length` ≥ 1).
    pub fn factor(self, step: u64, length: u64) -> f64 {
        let progress = (step as f64 / length.max(1) as f64).min(1.0);
        match self {
            Self::Constant => 1.0,
            Self::Linear => 1.0 - progress,
            Self::Cosine => 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()),
        }
    }
}

/// How many critic steps each generator step takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CriticSchedule {
    /// `n_critic` every step.
    #[default]
    Constant,
    /// Arjovsky et al. 2017 (the original WGAN code): [`WGAN_PAPER_CRITIC_STEPS`] critic
    /// steps for the first [`WGAN_PAPER_WARM_UP`] generator steps and every
    /// [`WGAN_PAPER_PERIOD`]th, `n_critic` otherwise, so that the critic is near its optimum
    /// when the generator moves.
    WganPaper,
}

/// Critic steps of the paper's boosted generator steps.
pub const WGAN_PAPER_CRITIC_STEPS: u32 = 100;
/// Generator steps at the start that are boosted.
pub const WGAN_PAPER_WARM_UP: u64 = 25;
/// Every this many generator steps, one is boosted.
pub const WGAN_PAPER_PERIOD: u64 = 500;

impl CriticSchedule {
    /// Critic steps of generator step `step` (0-based: the number completed before it).
    pub fn critic_steps(self, step: u64, n_critic: u32) -> u32 {
        match self {
            Self::Constant => n_critic,
            Self::WganPaper if step < WGAN_PAPER_WARM_UP || step.is_multiple_of(WGAN_PAPER_PERIOD) => {
                WGAN_PAPER_CRITIC_STEPS
            }
            Self::WganPaper => n_critic,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learning_rate_factors_follow_their_formulas() {
        assert_eq!(LearningRateSchedule::Constant.factor(7, 10), 1.0);
        let linear: Vec<f64> = [0, 5, 10, 20]
            .map(|t| LearningRateSchedule::Linear.factor(t, 10))
            .into();
        assert_eq!(linear, [1.0, 0.5, 0.0, 0.0]);
        let cosine = |t| LearningRateSchedule::Cosine.factor(t, 4);
        assert_eq!(cosine(0), 1.0);
        assert!((cosine(1) - (2.0f64.sqrt() + 2.0) / 4.0).abs() < 1e-15);
        assert!((cosine(2) - 0.5).abs() < 1e-15);
        assert!(cosine(4).abs() < 1e-15 && cosine(9).abs() < 1e-15);
    }

    #[test]
    fn the_wgan_paper_schedule_boosts_the_start_and_every_500th_step() {
        let steps: Vec<u32> = [0, 24, 25, 499, 500, 501, 1000]
            .map(|t| CriticSchedule::WganPaper.critic_steps(t, 5))
            .into();
        assert_eq!(steps, [100, 100, 5, 5, 100, 5, 100]);
        assert_eq!(CriticSchedule::Constant.critic_steps(0, 5), 5);
    }
}
