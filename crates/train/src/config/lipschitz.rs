//! How the critic is kept (approximately) 1-Lipschitz.

use serde::{Deserialize, Serialize};

/// The Lipschitz constraint on the critic: the one difference between WGAN and WGAN-GP.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LipschitzConstraint {
    /// WGAN: clamp every critic parameter to `[-clip_value, clip_value]` after each critic
    /// step. Seed: 0.01.
    WeightClip {
        /// Half-width of the clipping interval, > 0.
        clip_value: f64,
    },
    /// WGAN-GP: add `lambda · E[(‖∇x̂ D(x̂)‖₂ − 1)²]` to the critic loss, at random
    /// interpolates x̂ of real and fake images. Seed: λ = 10.
    GradientPenalty {
        /// Penalty weight λ ≥ 0.
        #[serde(rename = "gp_lambda")]
        lambda: f64,
    },
}

impl LipschitzConstraint {
    /// The seed's WGAN constraint: clipping at 0.01.
    pub const SEED_WGAN: Self = Self::WeightClip { clip_value: 0.01 };
    /// The seed's WGAN-GP constraint: λ = 10.
    pub const SEED_WGAN_GP: Self = Self::GradientPenalty { lambda: 10.0 };

    /// Whether the constraint needs the critic's input gradient.
    pub fn is_gradient_penalty(&self) -> bool {
        matches!(self, Self::GradientPenalty { .. })
    }
}
