//! Training WGAN and WGAN-GP.
//!
//! - `config`: what to train ([`RunConfig`]), read from TOML as a diff on a seed preset.
//! - `optimizer`: each network's optimizer, its settings and state.
//! - `engine`: the pure training state and its updates ([`Engine`], [`EngineState`]).
//! - `run`: a run directory around the engine ([`Run`]): lock, metrics log, sample grids,
//!   plots, checkpoint cadence, quality measurements, progress events.
//! - `checkpoint`: one [`EngineState`] saved and restored, atomically and verified.
//! - `inference`: a trained generator loaded, sampled and exported.
//! - [`tensorboard`]: TensorBoard event files, written and read.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod checkpoint;
mod config;
mod distributed;
mod engine;
mod error;
mod flops;
mod inference;
mod optimizer;
mod run;
pub mod tensorboard;
pub mod torch_layout;

pub use checkpoint::{
    CHECKPOINT_FILES, CHECKPOINT_FORMAT, CheckpointError, CheckpointState, EMA_FILE, LoadedCheckpoint, RecordError,
    RunProgress, SpectralNormState, checkpoint_name, list_checkpoints, prune_checkpoints, read_checkpoint, restore,
    save, write_checkpoint,
};
pub use config::{
    CriticSchedule, DEFAULT_CLASSIFIER_PATH, DataConfig, DistributedConfig, EmaBatchNorm, EmaConfig, GradientPenalty,
    LearningRateSchedule, LipschitzConstraint, LoggingConfig, NormPenalty, OptimizersConfig, Penalty, RunConfig,
    SamplePoint, ScheduleConfig, WGAN_PAPER_CRITIC_STEPS, WGAN_PAPER_PERIOD, WGAN_PAPER_WARM_UP, WganDiv, ZeroCentered,
};
pub use distributed::{
    Admission, Fingerprint, FollowerThreads, NodeSession, NodeSpec, Replica, Replicas, admit, check_replicas,
    fingerprint, join_nodes, node_engine, start_replicas,
};
pub use engine::{
    CriticLoss, CriticStepValues, Engine, EngineState, NoiseSource, PenaltyTerm, StepTimings, Stream, TrainStepMetrics,
    blend_generator, clip_parameters, critic_loss, data_order_seed, detached_copy, gradient_penalty, penalty_points,
    recompute_batch_norm, sample_norm, samples_of, squared_sample_norm, stream_rng,
};
pub use error::{ConfigError, PlotError, TrainError};
pub use flops::StepFlops;
pub use inference::{LoadedGenerator, Weights, export_safetensors, load_generator, sample};
pub use optimizer::{NetworkOptimizer, OptimizerConfig};
pub use run::{
    AtStep, CONFIG_TAG, Curve, GRID_BORDER, GRID_IMAGES, Grid, LOCK_FILE, MetricsLog, Panel, QualityError,
    QualityPoint, QualityProbe, Resumed, Run, RunDir, RunLock, RunOutcome, RunSink, RunSummary, SAMPLES_EMA_TAG,
    SAMPLES_TAG, Silent, StepMetrics, TensorBoardSink, TrainObserver, XAxis, config_sha256, draw_panels, plot_losses,
    plot_quality, plot_run, read_metrics, read_npy, smooth, write_grid, write_npy,
};
