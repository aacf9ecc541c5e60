//! The second phase of argument handling: parsed arguments resolved into validated settings,
//! one value per command that needs more than its arguments.

use std::path::{Path, PathBuf};

use anyhow::Context;
use wgan_train::{RunConfig, RunDir};

use crate::UserError;
use crate::args::{BenchArgs, DeviceArgs, TrainArgs};
use crate::device::DeviceRequest;

/// Reads, merges and validates the configuration file `path` with `overrides` applied in order.
pub fn load_config(path: &Path, overrides: &[String]) -> anyhow::Result<RunConfig> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| UserError(format!("cannot read config file {}: {err}", path.display())))?;
    RunConfig::from_toml(&text, overrides).with_context(|| format!("config file {}", path.display()))
}

/// Where a run goes: `out` if given, else `runs/<config stem>`, suffixed `-2`, `-3`, … while
/// that directory already holds a run.
pub fn run_directory(out: Option<&Path>, config: &Path) -> PathBuf {
    if let Some(out) = out {
        return out.to_path_buf();
    }
    let stem = config.file_stem().and_then(|s| s.to_str()).unwrap_or("run");
    let base = Path::new("runs").join(stem);
    std::iter::once(base.clone())
        .chain((2..).map(|n| Path::new("runs").join(format!("{stem}-{n}"))))
        .find(|dir| !dir.join("metrics.jsonl").exists())
        .unwrap_or(base)
}

/// The devices of `wgan train`: `--devices` (setting the replica count of a new run, and
/// checked against a resumed run's), else `--device` for a run of one replica.
fn replica_devices(config: &mut RunConfig, args: &TrainArgs) -> Result<Vec<DeviceRequest>, UserError> {
    let replicas = config.distributed.replicas;
    if args.nodes.spec().is_some() {
        return node_device(config, args);
    }
    if args.devices.is_empty() {
        return match replicas {
            1 => Ok(vec![args.device.request]),
            _ => Err(UserError(format!(
                "the run has {replicas} data-parallel replicas (distributed.replicas): give one \
                 device per replica with --devices, e.g. --devices {}",
                vec!["cpu"; replicas].join(",")
            ))),
        };
    }
    if args.resume.is_some() && args.devices.len() != replicas {
        return Err(UserError(format!(
            "--devices lists {} devices, but the run was trained with {replicas} replicas \
             (distributed.replicas); resume it with {replicas}: a run is a function of its \
             replica count",
            args.devices.len()
        )));
    }
    config.distributed.replicas = args.devices.len();
    Ok(args.devices.clone())
}

/// The device of one node of a multi-node run (`--nodes`, setting the replica count of a
/// new run, and checked against a resumed run's).
fn node_device(config: &mut RunConfig, args: &TrainArgs) -> Result<Vec<DeviceRequest>, UserError> {
    let nodes = args.nodes.nodes;
    let replicas = config.distributed.replicas;
    if args.devices.len() > 1 {
        return Err(UserError(format!(
            "--nodes runs one replica per process: give each node one device with --device, not \
             --devices {}; start one process per device, each with its own --node-rank",
            args.devices.len()
        )));
    }
    if args.resume.is_some() && nodes != replicas {
        return Err(UserError(format!(
            "--nodes {nodes}, but the run was trained with {replicas} replicas (distributed.replicas); \
             resume it with --nodes {replicas}: a run is a function of its replica count"
        )));
    }
    config.distributed.replicas = nodes;
    Ok(vec![args.devices.first().copied().unwrap_or(args.device.request)])
}

/// `wgan train`, resolved: what to train, where, and whether it continues a run.
#[derive(Debug)]
pub struct TrainSettings {
    /// The validated configuration, `--seed` and `--steps` applied.
    pub config: RunConfig,
    /// The run directory to create or continue.
    pub run_dir: RunDir,
    /// Whether `run_dir` holds a run to continue (`--resume`).
    pub resume: bool,
    /// Where to compute: one device, or one per data-parallel replica.
    pub devices: Vec<DeviceRequest>,
    /// This process's place in a multi-node run, if it is one.
    pub node: Option<wgan_train::NodeSpec>,
}

impl TrainSettings {
    /// Reads the config of a new run (`--config`, `--set`) or of the run to continue
    /// (`--resume`), and applies `--seed` and `--steps`.
    pub fn resolve(args: &TrainArgs) -> anyhow::Result<Self> {
        let (mut config, run_dir) = match (&args.resume, &args.config) {
            (Some(run), _) => {
                let run_dir = RunDir::new(run);
                if !run_dir.config().is_file() {
                    return Err(UserError(format!("{}: not a run directory (no config.toml)", run.display())).into());
                }
                (load_config(&run_dir.config(), &[])?, run_dir)
            }
            (None, Some(config_path)) => {
                let config = load_config(config_path, &args.overrides)?;
                (config, RunDir::new(run_directory(args.out.as_deref(), config_path)))
            }
            (None, None) => {
                return Err(UserError("give --config FILE for a new run or --resume RUN_DIR".into()).into());
            }
        };
        if let Some(seed) = args.seed {
            config.seed = seed;
        }
        if let Some(steps) = args.steps {
            config.schedule.steps = steps;
        }
        let devices = replica_devices(&mut config, args)?;
        config.validate().context("command-line settings")?;
        let node = args.nodes.spec();
        if let Some(node) = &node {
            node.validate()?;
        }
        Ok(Self {
            config,
            run_dir,
            resume: args.resume.is_some(),
            devices,
            node,
        })
    }
}

/// `wgan bench`, resolved.
#[derive(Debug)]
pub struct BenchSettings {
    /// The configuration to time, with quality measurements off.
    pub config: RunConfig,
    /// Timed generator steps, at least 1.
    pub steps: usize,
    /// Untimed generator steps first.
    pub warmup: usize,
    /// Whether to time the matrix-product peak too.
    pub peak: bool,
    /// Where to compute.
    pub device: DeviceArgs,
}

impl BenchSettings {
    /// Reads the config and checks the step counts.
    pub fn resolve(args: &BenchArgs) -> anyhow::Result<Self> {
        if args.steps == 0 {
            return Err(UserError("--steps must be at least 1".into()).into());
        }
        let mut config = load_config(&args.config.config, &args.config.overrides)?;
        // Timing only: no quality measurements.
        config.schedule.eval_interval = 0;
        Ok(Self {
            config,
            steps: args.steps,
            warmup: args.warmup,
            peak: args.peak,
            device: args.device,
        })
    }
}
