//! Training WGAN and WGAN-GP: run configuration, losses, the Lipschitz constraint, the
//! n_critic loop, and the run directory (metrics, sample grids, loss plots).

mod checkpoint;
mod clip;
mod config;
mod error;
mod grid;
mod inference;
mod lipschitz;
mod losses;
mod metrics;
mod noise;
mod observer;
mod optim;
mod optimizer;
mod plot;
mod quality_probe;
mod record;
mod run_dir;
mod run_lock;
mod step_timings;
mod trainer;

pub use checkpoint::{
    CHECKPOINT_FILES, CHECKPOINT_FORMAT, CheckpointError, CheckpointState, LoadedCheckpoint, checkpoint_name,
    list_checkpoints, prune_checkpoints, read_checkpoint, write_checkpoint,
};
pub use clip::clip_parameters;
pub use config::{DEFAULT_CLASSIFIER_PATH, DataConfig, OptimizersConfig, RunConfig, ScheduleConfig};
pub use error::{ConfigError, TrainError};
pub use grid::{GRID_BORDER, write_grid};
pub use inference::{LoadedGenerator, export_safetensors, load_generator, sample};
pub use lipschitz::LipschitzConstraint;
pub use losses::{CriticLoss, critic_loss, gradient_penalty, sample_norm};
pub use metrics::{MetricsLog, QualityPoint, StepMetrics, read_metrics};
pub use noise::{NoiseSource, Stream, stream_rng};
pub use observer::{Silent, TrainObserver};
pub use optim::NetworkOptimizer;
pub use optimizer::OptimizerConfig;
pub use plot::{plot_losses, plot_quality};
pub use quality_probe::QualityProbe;
pub use run_dir::{RunDir, read_npy, write_npy};
pub use run_lock::{LOCK_FILE, RunLock};
pub use step_timings::StepTimings;
pub use trainer::{CriticStepMetrics, GRID_IMAGES, Resumed, RunOutcome, Trainer};
