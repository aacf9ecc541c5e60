//! Training WGAN and WGAN-GP: run configuration, losses and the Lipschitz constraint.

mod config;
mod error;
mod lipschitz;
mod losses;
mod optimizer;

pub use config::{DataConfig, OptimizersConfig, RunConfig, ScheduleConfig};
pub use error::{ConfigError, TrainError};
pub use lipschitz::LipschitzConstraint;
pub use optimizer::OptimizerConfig;
pub use losses::{CriticLoss, critic_loss, gradient_penalty, sample_norm};
