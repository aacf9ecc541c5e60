//! Floating-point operations of one generator step, counted from the architecture.
//!
//! With `F_G`, `F_D` the networks' forward FLOPs per sample (matrix products only,
//! [`wgan_model::NetworkSummary::forward_flops`]) and `b` the batch size, a backward pass
//! costs twice its forward pass (the input gradient and the weight gradient each cost about
//! one forward pass):
//!
//! - critic step: the fake batch `b·F_G` (no backward), the critic on the real and the fake
//!   batch `2b·F_D` and its backward `4b·F_D`;
//! - a gradient-norm penalty adds, per sample it is taken at, the critic forward `F_D`, its
//!   explicit input gradient `F_D` (a backward pass for the input only), and the backward pass
//!   through both to the weights `2·(F_D + F_D)`: `6b·F_D` in all at interpolates, real or
//!   fake samples, `12b·F_D` at real and fake samples together;
//! - spectral normalisation's power iterations are matrix–vector products, left out;
//! - generator step: `G` forward `b·F_G`, the critic forward `b·F_D`, the backward through the
//!   critic to its input only `b·F_D`, and `G`'s backward `2b·F_G`.
//!
//! At DIM 64, batch 64 and n_critic 5 that is 376 GFLOP per WGAN-GP step and 219 GFLOP per
//! WGAN step.

use serde::Serialize;

use crate::{RunConfig, SamplePoint};

/// FLOPs of one generator step, by phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StepFlops {
    /// One critic step, the penalty included.
    pub critic_step: u64,
    /// The generator update.
    pub generator_step: u64,
    /// A whole generator step: `n_critic` critic steps and the generator update.
    pub total: u64,
}

impl StepFlops {
    /// The step of `config` for networks whose forward passes cost `generator_forward` and
    /// `critic_forward` FLOPs per sample.
    pub fn of(config: &RunConfig, generator_forward: u64, critic_forward: u64) -> Self {
        let batch = config.data.batch_size as u64;
        let penalty = match config.lipschitz.penalty().map(|penalty| penalty.sample_at()) {
            Some(SamplePoint::RealAndFake) => 12 * critic_forward,
            Some(_) => 6 * critic_forward,
            None => 0,
        };
        let critic_step = batch * (generator_forward + 6 * critic_forward + penalty);
        let generator_step = batch * (3 * generator_forward + 2 * critic_forward);
        Self {
            critic_step,
            generator_step,
            total: u64::from(config.schedule.n_critic) * critic_step + generator_step,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LipschitzConstraint;
    use wgan_model::Variant;

    #[test]
    fn the_penalty_doubles_the_critic_step_and_n_critic_multiplies_it() {
        let mut config = RunConfig::preset(Variant::WganGp);
        config.data.batch_size = 2;
        config.schedule.n_critic = 3;
        let flops = StepFlops::of(&config, 10, 1);
        assert_eq!(flops.critic_step, 2 * (10 + 6 + 6));
        assert_eq!(flops.generator_step, 2 * (30 + 2));
        assert_eq!(flops.total, 3 * 44 + 64);
        config.lipschitz = LipschitzConstraint::SEED_WGAN;
        assert_eq!(StepFlops::of(&config, 10, 1).critic_step, 2 * (10 + 6));
    }
}
