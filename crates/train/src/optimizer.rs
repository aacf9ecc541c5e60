//! Optimizer settings.

use serde::{Deserialize, Serialize};

/// One network's optimizer. The seed uses Keras' optimizers, so the defaults follow Keras
/// (`epsilon = 1e-7`, RMSprop `rho = 0.9`) rather than burn's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// RMSprop without momentum (WGAN seed: learning rate 5e-5).
    #[serde(rename = "rmsprop")]
    RmsProp {
        /// Step size, > 0.
        learning_rate: f64,
        /// Decay of the running mean of squared gradients (Keras' `rho`), in [0, 1).
        alpha: f64,
        /// Added to the root-mean-square, > 0.
        epsilon: f64,
    },
    /// Adam (WGAN-GP seed: learning rate 1e-4, β1 = 0.5, β2 = 0.9).
    Adam {
        /// Step size, > 0.
        learning_rate: f64,
        /// Decay of the first moment, in [0, 1).
        beta1: f64,
        /// Decay of the second moment, in [0, 1).
        beta2: f64,
        /// Added to the root of the second moment, > 0.
        epsilon: f64,
    },
}

impl OptimizerConfig {
    /// The WGAN seed's RMSprop.
    pub const SEED_RMSPROP: Self = Self::RmsProp {
        learning_rate: 5e-5,
        alpha: 0.9,
        epsilon: 1e-7,
    };
    /// The WGAN-GP seed's Adam.
    pub const SEED_ADAM: Self = Self::Adam {
        learning_rate: 1e-4,
        beta1: 0.5,
        beta2: 0.9,
        epsilon: 1e-7,
    };

    /// Range checks; `section` is the dotted path used in errors, e.g. `optimizer.critic`.
    pub fn check(&self, section: &str) -> Result<(), (String, String)> {
        let positive = |name: &str, value: f64| {
            (value.is_finite() && value > 0.0).then_some(()).ok_or_else(|| {
                (
                    format!("{section}.{name}"),
                    format!("must be a finite number > 0, got {value}"),
                )
            })
        };
        let decay = |name: &str, value: f64| {
            (value.is_finite() && (0.0..1.0).contains(&value))
                .then_some(())
                .ok_or_else(|| (format!("{section}.{name}"), format!("must be in [0, 1), got {value}")))
        };
        match *self {
            Self::RmsProp {
                learning_rate,
                alpha,
                epsilon,
            } => {
                positive("learning_rate", learning_rate)?;
                decay("alpha", alpha)?;
                positive("epsilon", epsilon)
            }
            Self::Adam {
                learning_rate,
                beta1,
                beta2,
                epsilon,
            } => {
                positive("learning_rate", learning_rate)?;
                decay("beta1", beta1)?;
                decay("beta2", beta2)?;
                positive("epsilon", epsilon)
            }
        }
    }
}
