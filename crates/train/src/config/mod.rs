//! The run configuration: what to train. Read from TOML as a diff on a seed preset.
//!
//! Loading is two-phase. The file is parsed into a TOML table and merged over the full
//! preset it names (`preset = "wgan"` or `"wgan-gp"`), then `--set KEY=VALUE` overrides are
//! merged over that; the result is deserialised with unknown keys rejected, and every value
//! is range-checked. Every error names the dotted field.

use serde::{Deserialize, Serialize};
use toml::{Table, Value};
use wgan_model::{ModelConfig, Variant};

use crate::{ConfigError, OptimizerConfig};

mod data;
mod distributed;
mod ema;
mod lipschitz;
mod logging;
mod schedules;

pub use data::{DEFAULT_CLASSIFIER_PATH, DataConfig};
pub use distributed::DistributedConfig;
pub use ema::{EmaBatchNorm, EmaConfig};
pub(crate) use lipschitz::positive;
pub use lipschitz::{GradientPenalty, LipschitzConstraint, NormPenalty, Penalty, SamplePoint, WganDiv, ZeroCentered};
pub use logging::LoggingConfig;
pub use schedules::{
    CriticSchedule, LearningRateSchedule, WGAN_PAPER_CRITIC_STEPS, WGAN_PAPER_PERIOD, WGAN_PAPER_WARM_UP,
};

fn default_eval_samples() -> usize {
    10_000
}

/// Both networks' optimizers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizersConfig {
    /// The critic's optimizer.
    pub critic: OptimizerConfig,
    /// The generator's optimizer.
    pub generator: OptimizerConfig,
    /// How the critic's learning rate moves over the run. Default: constant.
    #[serde(default)]
    pub critic_lr_schedule: LearningRateSchedule,
    /// How the generator's learning rate moves over the run. Default: constant.
    #[serde(default)]
    pub generator_lr_schedule: LearningRateSchedule,
    /// Generator steps over which a decaying schedule reaches 0, at most `schedule.steps`;
    /// absent: `schedule.steps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr_decay_steps: Option<u64>,
}

impl OptimizersConfig {
    /// The critic's and the generator's learning rates at generator step `step` (0-based)
    /// of a run of `run_steps`.
    pub fn learning_rates(&self, step: u64, run_steps: u64) -> [f64; 2] {
        let length = self.lr_decay_steps.unwrap_or(run_steps);
        [
            self.critic.learning_rate() * self.critic_lr_schedule.factor(step, length),
            self.generator.learning_rate() * self.generator_lr_schedule.factor(step, length),
        ]
    }
}

/// How long to train and how often to report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Generator steps in the whole run. Seed: 2000 (WGAN), 5000 (WGAN-GP).
    pub steps: u64,
    /// Critic steps per generator step. Seed: 5.
    pub n_critic: u32,
    /// `constant` (`n_critic` every step, the default) or `wgan_paper`: 100 critic steps
    /// for the first 25 generator steps and every 500th, as in Arjovsky et al. 2017.
    #[serde(default)]
    pub n_critic_schedule: CriticSchedule,
    /// Generator steps between progress reports.
    pub log_interval: u64,
    /// Generator steps between sample grids and plot redraws.
    pub sample_interval: u64,
    /// Generator steps between checkpoints (one is also written at the end).
    pub checkpoint_interval: u64,
    /// Checkpoints kept; older ones are deleted. The newest is always kept.
    pub keep_checkpoints: usize,
    /// Generator steps between quality measurements (FD-FMNIST and Inception Score, into
    /// `metrics.jsonl` and `plots/quality.png`); 0 turns them off.
    #[serde(default)]
    pub eval_interval: u64,
    /// Generated samples per quality measurement.
    #[serde(default = "default_eval_samples")]
    pub eval_samples: usize,
}

/// Everything that defines a training run (not how it is run: output directory and device
/// are command-line settings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// The seed run this configuration starts from.
    pub preset: Variant,
    /// Seed of every random stream: initial weights, data order, noise.
    pub seed: u64,
    /// ε_drift ≥ 0: adds `ε_drift·E[D(real)²]` to the critic loss (Karras et al. 2018 use
    /// 0.001), which keeps the critic's scores from drifting away from 0. Default 0: none.
    #[serde(default)]
    pub drift: f64,
    /// Both networks' architecture.
    pub model: ModelConfig,
    /// Dataset and batch size.
    pub data: DataConfig,
    /// Optimizers of the critic and the generator.
    pub optimizer: OptimizersConfig,
    /// Weight clipping (WGAN) or gradient penalty (WGAN-GP).
    pub lipschitz: LipschitzConstraint,
    /// Step budget and intervals.
    pub schedule: ScheduleConfig,
    /// TensorBoard, sample grids and plots.
    #[serde(default)]
    pub logging: LoggingConfig,
    /// The generator's moving average; absent: none is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ema: Option<EmaConfig>,
    /// Data-parallel replicas; absent: one.
    #[serde(default)]
    pub distributed: DistributedConfig,
}

impl RunConfig {
    /// The seed's run for `variant`, exactly: DIM 128, batch 64, n_critic 5, its optimizers,
    /// constraint and step budget.
    pub fn preset(variant: Variant) -> Self {
        let (optimizer, lipschitz, steps) = match variant {
            Variant::Wgan => (OptimizerConfig::SEED_RMSPROP, LipschitzConstraint::SEED_WGAN, 2000),
            Variant::WganGp => (OptimizerConfig::SEED_ADAM, LipschitzConstraint::SEED_WGAN_GP, 5000),
        };
        Self {
            preset: variant,
            seed: 0,
            model: ModelConfig::preset(variant, 128),
            data: DataConfig::seed(),
            optimizer: OptimizersConfig {
                critic: optimizer,
                generator: optimizer,
                critic_lr_schedule: LearningRateSchedule::Constant,
                generator_lr_schedule: LearningRateSchedule::Constant,
                lr_decay_steps: None,
            },
            drift: 0.0,
            lipschitz,
            schedule: ScheduleConfig {
                steps,
                n_critic: 5,
                n_critic_schedule: CriticSchedule::Constant,
                log_interval: 10,
                sample_interval: 100,
                checkpoint_interval: 500,
                keep_checkpoints: 3,
                eval_interval: 500,
                eval_samples: default_eval_samples(),
            },
            logging: LoggingConfig::default(),
            ema: None,
            distributed: DistributedConfig::default(),
        }
    }

    /// Parses a configuration file's text and applies `--set KEY=VALUE` overrides.
    pub fn from_toml(text: &str, overrides: &[String]) -> Result<Self, ConfigError> {
        let file: Table = text
            .parse()
            .map_err(|err: toml::de::Error| ConfigError::Syntax(err.to_string()))?;
        let mut merged = Table::new();
        merge(&mut merged, file);
        for assignment in overrides {
            let (path, value) = parse_override(assignment)?;
            set_path(&mut merged, &path, value).map_err(|reason| ConfigError::Override {
                assignment: assignment.clone(),
                reason,
            })?;
        }
        let variant = preset_of(&merged)?;
        let mut table = Table::try_from(Self::preset(variant)).map_err(|err| ConfigError::Syntax(err.to_string()))?;
        merge(&mut table, merged);
        let config: Self = serde_path_to_error::deserialize(Value::Table(table)).map_err(|err| {
            let field = err.path().to_string();
            ConfigError::Field {
                field,
                message: err.into_inner().to_string(),
            }
        })?;
        config.validate()?;
        Ok(config)
    }

    /// The fully resolved configuration as TOML; [`RunConfig::from_toml`] reads it back unchanged.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|err| format!("# cannot serialise: {err}\n"))
    }

    /// Range checks on every field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let range = |field: &str, reason: String| {
            Err(ConfigError::Range {
                field: field.into(),
                reason,
            })
        };
        self.model.validate()?;
        self.data.validate()?;
        self.logging.validate()?;
        if let Some(ema) = &self.ema {
            ema.validate()?;
        }
        self.distributed.validate(self.data.batch_size)?;
        if !matches!(self.model.channels, 1 | 3) {
            return range(
                "model.channels",
                format!("must be 1 (gray) or 3 (RGB), got {}", self.model.channels),
            );
        }
        for (section, optimizer) in [
            ("optimizer.critic", &self.optimizer.critic),
            ("optimizer.generator", &self.optimizer.generator),
        ] {
            optimizer.check(section)?;
        }
        self.lipschitz.validate()?;
        if self.lipschitz.is_gradient_penalty() && self.model.critic_norm != wgan_model::CriticNorm::None {
            return range(
                "model.critic_norm",
                "must be \"none\" with a gradient-norm penalty: BatchNorm couples the samples the \
                 penalty treats independently"
                    .into(),
            );
        }
        lipschitz::non_negative("drift", self.drift)?;
        let schedule = &self.schedule;
        for (field, value) in [
            ("schedule.steps", schedule.steps),
            ("schedule.n_critic", u64::from(schedule.n_critic)),
            ("schedule.log_interval", schedule.log_interval),
            ("schedule.sample_interval", schedule.sample_interval),
            ("schedule.checkpoint_interval", schedule.checkpoint_interval),
            ("schedule.keep_checkpoints", schedule.keep_checkpoints as u64),
        ] {
            if value == 0 {
                return range(field, "must be at least 1".into());
            }
        }
        if let Some(length) = self.optimizer.lr_decay_steps
            && !(1..=schedule.steps).contains(&length)
        {
            return range(
                "optimizer.lr_decay_steps",
                format!(
                    "must be 1 to schedule.steps = {} (a schedule longer than the run never reaches 0), got {length}",
                    schedule.steps
                ),
            );
        }
        if schedule.eval_interval > 0 && self.model.channels != 1 {
            return range(
                "schedule.eval_interval",
                format!(
                    "FD-FMNIST and the Inception Score use the Fashion-MNIST classifier, which takes \
                     1-channel images; this model makes {} channels, so set schedule.eval_interval = 0",
                    self.model.channels
                ),
            );
        }
        if schedule.eval_interval > 0 && schedule.eval_samples < 10 {
            return range(
                "schedule.eval_samples",
                format!(
                    "must be at least 10 (the Inception Score's splits), got {}",
                    schedule.eval_samples
                ),
            );
        }
        Ok(())
    }
}

fn preset_of(table: &Table) -> Result<Variant, ConfigError> {
    let field = |message: String| ConfigError::Field {
        field: "preset".into(),
        message,
    };
    match table.get("preset") {
        None => Err(field(
            "missing; start the file with preset = \"wgan\" or preset = \"wgan-gp\"".into(),
        )),
        Some(value) => Variant::deserialize(value.clone())
            .map_err(|_| field(format!("expected \"wgan\" or \"wgan-gp\", got {value}"))),
    }
}

/// Merges `overlay` into `base`: tables merge key by key, anything else replaces. A table
/// whose `kind` differs from the base's (a different optimizer or constraint) replaces it
/// whole, so the old kind's fields do not linger.
fn merge(base: &mut Table, overlay: Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(existing)), Value::Table(incoming))
                if incoming
                    .get("kind")
                    .is_none_or(|kind| existing.get("kind") == Some(kind)) =>
            {
                merge(existing, incoming)
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Splits `a.b.c=VALUE`; VALUE is read as a TOML value, or else taken as a string.
fn parse_override(assignment: &str) -> Result<(Vec<String>, Value), ConfigError> {
    let error = |reason: &str| ConfigError::Override {
        assignment: assignment.into(),
        reason: reason.into(),
    };
    let (key, raw) = assignment
        .split_once('=')
        .ok_or_else(|| error("expected KEY=VALUE, e.g. model.dim=64"))?;
    let path: Vec<String> = key.trim().split('.').map(str::to_string).collect();
    if path.iter().any(String::is_empty) {
        return Err(error("empty key segment"));
    }
    let raw = raw.trim();
    let value = format!("value = {raw}")
        .parse::<Table>()
        .ok()
        .and_then(|mut t| t.remove("value"))
        .unwrap_or_else(|| Value::String(raw.to_string()));
    Ok((path, value))
}

fn set_path(table: &mut Table, path: &[String], value: Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty key")?;
    let mut current = table;
    for (depth, key) in parents.iter().enumerate() {
        let entry = current.entry(key.clone()).or_insert_with(|| Value::Table(Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| format!("{} is a value, not a section", path[..=depth].join(".")))?;
    }
    let mut overlay = Table::new();
    overlay.insert(last.clone(), value);
    merge(current, overlay);
    Ok(())
}

#[cfg(test)]
mod tests;
