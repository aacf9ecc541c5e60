//! Command-line arguments: every argument's doc comment is its `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::device::DeviceRequest;

/// Train and inspect WGAN / WGAN-GP models on Fashion-MNIST or your own images.
#[derive(Debug, Parser)]
#[command(name = "wgan", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a model and write a run directory (config, metrics, sample grids, plots).
    Train(TrainArgs),
    /// Redraw a run directory's plots from its metrics.jsonl.
    Plot(PlotArgs),
    /// Overlay several runs on one chart per metric and print a table of their results.
    Compare(CompareArgs),
    /// Draw samples from a trained generator: FILE.png (grid) and FILE.npy ([N, C, H, W]).
    Sample(SampleArgs),
    /// Write a trained generator as safetensors with PyTorch names and layouts.
    Export(ExportArgs),
    /// Print the resolved configuration and a layer summary of both networks.
    Info(InfoArgs),
    /// The Fashion-MNIST classifier behind `wgan eval`.
    #[command(subcommand)]
    Classifier(ClassifierCommand),
    /// Measure sample quality: FD-FMNIST, the classifier Inception Score, KID, precision and
    /// recall.
    Eval(EvalArgs),
    /// Time training steps: median seconds per generator step and where the time goes.
    Bench(BenchArgs),
    /// List the devices `--device` can name: the CPU, CUDA devices and wgpu adapters.
    Devices,
    /// Look at a dataset as a run would see it, cache it, or write Fashion-MNIST as images.
    #[command(subcommand)]
    Data(DataCommand),
}

/// `wgan data ...`.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Print the image count, classes, sizes, modes and skipped files of a source, and write a
    /// contact sheet of its first 64 images after preprocessing.
    Inspect(DataInspectArgs),
    /// Decode and preprocess an image folder into the cache, so training starts without decoding.
    Prepare(DataSourceArgs),
    /// Write a Fashion-MNIST split as PNG files, one subfolder per class.
    Export(DataExportArgs),
}

/// A data source and the settings that preprocess it.
#[derive(Debug, Args)]
pub struct DataSourceArgs {
    /// The image folder, .npy array or IDX image file.
    #[arg(value_name = "SRC")]
    pub path: PathBuf,
    /// What SRC is: image-folder, npy, idx or fashion-mnist (default: detected from SRC).
    #[arg(long, value_name = "KIND")]
    pub source: Option<String>,
    /// A run configuration whose [model] and [data] settings apply (default: the wgan-gp preset).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Override any config field by its dotted path, e.g. --set model.channels=3 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

/// `wgan data inspect`.
#[derive(Debug, Args)]
pub struct DataInspectArgs {
    /// The source.
    #[command(flatten)]
    pub source: DataSourceArgs,
    /// Where to write the contact sheet (PNG).
    #[arg(long, value_name = "FILE", default_value = "contact-sheet.png")]
    pub sheet: PathBuf,
    /// Print the report as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `wgan data export`.
#[derive(Debug, Args)]
pub struct DataExportArgs {
    /// The folder to create; it must not exist or be empty.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Which split: train or test.
    #[arg(long, default_value = "train", value_parser = ["train", "test"])]
    pub split: String,
    /// Write only the first N images.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Directory with the Fashion-MNIST IDX files (default: the standard search).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
}

/// `--device`, shared by every command that computes.
#[derive(Debug, Clone, Copy, Args)]
pub struct DeviceArgs {
    /// Where to compute: auto, cpu, cuda[:N] or wgpu[:N] (see `wgan devices`). Without the
    /// flag, `WGAN_DEVICE` if it is set, else auto.
    #[arg(long = "device", env = "WGAN_DEVICE", default_value = "auto", value_name = "DEVICE")]
    pub request: DeviceRequest,
}

/// `wgan bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Which configuration to time.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Where to compute.
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Timed generator steps (each: n_critic critic steps and one generator step).
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Untimed generator steps first (allocation, kernel selection).
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// Also time a large matrix product on the same device, and report the step's GFLOP/s
    /// as a fraction of that peak.
    #[arg(long)]
    pub peak: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `wgan classifier ...`.
#[derive(Debug, Subcommand)]
pub enum ClassifierCommand {
    /// Train the feature classifier on the Fashion-MNIST training set and report its test
    /// accuracy.
    Train(ClassifierTrainArgs),
}

/// `wgan classifier train`.
#[derive(Debug, Args)]
pub struct ClassifierTrainArgs {
    /// The safetensors file to save the classifier in (replaced if it exists).
    #[arg(long, value_name = "FILE", default_value = wgan_eval::DEFAULT_CLASSIFIER_PATH)]
    pub out: PathBuf,
    /// Directory with the Fashion-MNIST IDX files (default: the standard search).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Passes over the training set.
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
    /// Seed of the weights, data order and dropout.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Train on only the first N training images (quick checks; the saved classifier is
    /// then not the documented one).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Where to compute.
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// `--weights`: which of a checkpoint's generators to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WeightsArg {
    /// G_ema when the checkpoint has one, else the trained generator.
    Auto,
    /// The trained generator.
    Raw,
    /// G_ema.
    Ema,
    /// G_ema's weights with the trained generator's BatchNorm statistics.
    EmaRawBn,
}

impl From<WeightsArg> for wgan_train::Weights {
    fn from(weights: WeightsArg) -> Self {
        match weights {
            WeightsArg::Auto => Self::Auto,
            WeightsArg::Raw => Self::Raw,
            WeightsArg::Ema => Self::Ema,
            WeightsArg::EmaRawBn => Self::EmaRawBatchNorm,
        }
    }
}

/// `wgan eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A run directory (its newest usable checkpoint) or one checkpoint directory.
    #[arg(long, value_name = "RUN_DIR|CHECKPOINT", required_unless_present_any = ["train_images", "images"])]
    pub from: Option<PathBuf>,
    /// Which generator: `auto` (G_ema when the checkpoint has one, else the trained
    /// generator), `raw`, `ema`, or `ema-raw-bn` (G_ema's weights with the trained generator's
    /// BatchNorm statistics, for comparison).
    #[arg(long, value_enum, default_value_t = WeightsArg::Auto)]
    pub weights: WeightsArg,
    /// Measure the first --samples images of the Fashion-MNIST training set instead of a
    /// generator: the score of real data, the best a generator can hope for.
    #[arg(long, conflicts_with_all = ["from", "images"])]
    pub train_images: bool,
    /// Measure the images in a NumPy file instead of a generator: `[N, 1, 32, 32]` (or
    /// `[N, 32, 32]`) float32 in [-1, 1], as `wgan sample` writes; samples from any framework.
    #[arg(long, value_name = "FILE.npy", conflicts_with = "from")]
    pub images: Option<PathBuf>,
    /// Number of generated samples (or training images; all of --images by default).
    #[arg(long)]
    pub samples: Option<usize>,
    /// A classifier file instead of the shipped reference (numbers are then not on the
    /// reference scale).
    #[arg(long, value_name = "FILE.safetensors")]
    pub classifier: Option<PathBuf>,
    /// Directory with the Fashion-MNIST IDX files (default: the standard search).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Also write the measured images' features, `[N, 256]` float32, to this NumPy file.
    #[arg(long, value_name = "FILE.npy")]
    pub save_features: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Where to compute.
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// `wgan sample`.
#[derive(Debug, Args)]
pub struct SampleArgs {
    /// A run directory (its newest usable checkpoint) or one checkpoint directory.
    #[arg(long, value_name = "RUN_DIR|CHECKPOINT")]
    pub from: PathBuf,
    /// Which generator: `auto` (G_ema when the checkpoint has one, else the trained
    /// generator), `raw`, `ema`, or `ema-raw-bn` (G_ema's weights with the trained generator's
    /// BatchNorm statistics, for comparison).
    #[arg(long, value_enum, default_value_t = WeightsArg::Auto)]
    pub weights: WeightsArg,
    /// Number of samples.
    #[arg(long, default_value_t = 64)]
    pub n: usize,
    /// Seed of the noise; a run's own seed reproduces its sample grids.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output path without extension: writes FILE.png, FILE.npy and the noise as FILE.noise.npy.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Draw every pixel of the grid PNG as N×N pixels (nearest neighbour), 1 to 16.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub scale: u32,
    /// Where to compute.
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// `wgan export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A run directory (its newest usable checkpoint) or one checkpoint directory.
    #[arg(long, value_name = "RUN_DIR|CHECKPOINT")]
    pub from: PathBuf,
    /// Which generator: `auto` (G_ema when the checkpoint has one, else the trained
    /// generator), `raw`, `ema`, or `ema-raw-bn` (G_ema's weights with the trained generator's
    /// BatchNorm statistics, for comparison).
    #[arg(long, value_enum, default_value_t = WeightsArg::Auto)]
    pub weights: WeightsArg,
    /// The safetensors file to write, e.g. generator.safetensors.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// A configuration file plus overrides.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Run configuration (TOML), e.g. configs/wgan-gp.toml.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Override any config field by its dotted path, e.g. --set model.dim=64 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

/// `wgan info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Which configuration to describe.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `wgan train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Run configuration (TOML) of a new run, e.g. configs/wgan-gp.toml.
    #[arg(long, value_name = "FILE", required_unless_present = "resume")]
    pub config: Option<PathBuf>,
    /// Override any config field of a new run by its dotted path, e.g. --set model.dim=64
    /// (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", conflicts_with = "resume")]
    pub overrides: Vec<String>,
    /// Continue the run in RUN_DIR from its newest usable checkpoint, exactly as if it had
    /// never stopped. With --steps, a finished run can be extended.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["config", "out", "seed"])]
    pub resume: Option<PathBuf>,
    /// Run directory to create. Default: runs/<config name>, or runs/<config name>-N if taken.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Where to compute.
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Data-parallel training, one replica per listed device, each on an equal share of
    /// every batch: e.g. cuda:0,cuda:1 or cpu,cpu (all of one backend). Sets
    /// distributed.replicas of a new run; a resumed run needs as many devices as it has
    /// replicas. Replaces --device.
    #[arg(long, value_name = "DEVICE,DEVICE,...", value_delimiter = ',')]
    pub devices: Vec<DeviceRequest>,
    /// Generator steps to train (overrides schedule.steps).
    #[arg(long, value_name = "N")]
    pub steps: Option<u64>,
    /// Seed of every random stream (overrides seed).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Several processes training together, on one machine or several.
    #[command(flatten)]
    pub nodes: crate::nodes::NodeArgs,
}

/// `wgan plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// The run directory whose plots to redraw.
    #[arg(value_name = "RUN_DIR")]
    pub run_dir: PathBuf,
    /// Smoothing weight of the moving average over the raw curves, in [0, 1) (default: the
    /// run's logging.smoothing).
    #[arg(long, value_name = "WEIGHT")]
    pub smooth: Option<f64>,
}

/// A quantity `wgan compare` can chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompareMetric {
    /// Mean D(real) − mean D(fake).
    Wasserstein,
    /// The critic's loss.
    CriticLoss,
    /// The generator's loss.
    GeneratorLoss,
    /// The gradient-norm penalty without its weight (runs that have one).
    Gp,
    /// FD-FMNIST (runs with schedule.eval_interval).
    Fd,
    /// The classifier Inception Score.
    Is,
}

/// What the x axis of `wgan compare` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompareAxis {
    /// Generator steps.
    Steps,
    /// Training wall time, seconds.
    Time,
}

/// `wgan compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The run directories to compare.
    #[arg(value_name = "RUN", required = true)]
    pub runs: Vec<PathBuf>,
    /// Chart path; one chart per metric is written as STEM-METRIC.EXT (PNG, or SVG for .svg).
    #[arg(long, value_name = "FILE", default_value = "compare.png")]
    pub out: PathBuf,
    /// Metrics to chart (repeatable; default: every metric some run logged).
    #[arg(long, value_enum, value_name = "METRIC")]
    pub metric: Vec<CompareMetric>,
    /// Smoothing weight of the moving average over the raw curves, in [0, 1).
    #[arg(long, value_name = "WEIGHT", default_value_t = 0.6)]
    pub smooth: f64,
    /// The x axis.
    #[arg(long, value_enum, default_value = "steps")]
    pub x: CompareAxis,
    /// Print the table as CSV instead of Markdown.
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// Print the table as JSON instead of Markdown.
    #[arg(long)]
    pub json: bool,
}
