//! Using a trained generator: loading it from a run or checkpoint, sampling, exporting.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::nn::BatchNorm;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use wgan_model::{Generator, ModelConfig};

use crate::checkpoint::{
    CHECKPOINT_FILES, CheckpointError, CheckpointState, EMA_FILE, list_checkpoints, load_module, read_checkpoint,
};
use crate::torch_layout::{NamedTensor, conv_tensors, linear_tensors, named, safetensors_bytes};
use crate::{NoiseSource, RunDir, Stream, TrainError, blend_generator};

/// Which of a checkpoint's generators to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Weights {
    /// G_ema when the checkpoint has one, else the trained generator.
    #[default]
    Auto,
    /// The trained generator.
    Raw,
    /// G_ema (an error if the checkpoint has none).
    Ema,
    /// G_ema's weights with the trained generator's BatchNorm statistics: what copying the
    /// statistics gives, for comparison with recomputing them.
    EmaRawBatchNorm,
}

impl Weights {
    /// The name the command line uses.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Raw => "raw",
            Self::Ema => "ema",
            Self::EmaRawBatchNorm => "ema-raw-bn",
        }
    }
}

/// A generator loaded for inference, with where it came from.
pub struct LoadedGenerator<B: Backend> {
    /// The network; BatchNorm uses its running statistics on a non-autodiff backend.
    pub generator: Generator<B>,
    /// Its architecture.
    pub model: ModelConfig,
    /// The checkpoint directory it was read from.
    pub checkpoint: PathBuf,
    /// The generator step of that checkpoint.
    pub step: u64,
    /// Which generator this is: [`Weights::Raw`], [`Weights::Ema`] or
    /// [`Weights::EmaRawBatchNorm`], never [`Weights::Auto`].
    pub weights: Weights,
}

impl<B: Backend> LoadedGenerator<B> {
    /// `CHECKPOINT (step N, W weights)`, for messages.
    pub fn describe(&self) -> String {
        format!(
            "{} (step {}, {} weights)",
            self.checkpoint.display(),
            self.step,
            self.weights.name()
        )
    }
}

/// Loads the generator chosen by `weights` from a checkpoint directory, or from the newest
/// usable checkpoint of a run directory.
pub fn load_generator<B: Backend>(
    from: &Path,
    weights: Weights,
    device: &B::Device,
) -> Result<LoadedGenerator<B>, TrainError> {
    let candidates = if from.join("state.json").is_file() {
        vec![from.to_path_buf()]
    } else {
        let checkpoints = RunDir::new(from).checkpoints_dir();
        list_checkpoints(&checkpoints)
            .into_iter()
            .map(|(_, path)| path)
            .collect()
    };
    let mut tried = Vec::new();
    for path in candidates {
        match load_one(&path, weights, device) {
            Ok(loaded) => return Ok(loaded),
            Err(err) => tried.push(err.to_string()),
        }
    }
    Err(TrainError::NoCheckpoint {
        path: from.to_path_buf(),
        tried,
    })
}

fn load_one<B: Backend>(
    path: &Path,
    weights: Weights,
    device: &B::Device,
) -> Result<LoadedGenerator<B>, CheckpointError> {
    let state_path = path.join("state.json");
    let text = std::fs::read(&state_path).map_err(|error| CheckpointError::Io {
        path: state_path.clone(),
        error,
    })?;
    let state: CheckpointState = serde_json::from_slice(&text).map_err(|error| CheckpointError::State {
        path: state_path.clone(),
        error,
    })?;
    let loaded = read_checkpoint(path, &state.model)?;
    let weights = match (weights, loaded.ema.is_some()) {
        (Weights::Auto, true) => Weights::Ema,
        (Weights::Auto, false) => Weights::Raw,
        (Weights::Ema | Weights::EmaRawBatchNorm, false) => {
            return Err(CheckpointError::NoEma {
                path: path.to_path_buf(),
            });
        }
        (chosen, _) => chosen,
    };
    // A fresh network per file: running statistics are shared between clones of one module.
    let network = |bytes: Vec<u8>, file: &str| {
        let mut rng = crate::stream_rng(0, Stream::Weights);
        let generator =
            Generator::new(&state.model, &mut rng, device).map_err(|err| CheckpointError::Architecture {
                path: path.to_path_buf(),
                difference: err.to_string(),
            })?;
        load_module(generator, bytes, device).map_err(|error| CheckpointError::Record {
            path: path.join(file),
            error,
        })
    };
    let [raw_bytes, ..] = loaded.files;
    let generator = match (weights, loaded.ema) {
        (Weights::Ema, Some(ema)) => network(ema, EMA_FILE)?,
        (Weights::EmaRawBatchNorm, Some(ema)) => {
            blend_generator(network(ema, EMA_FILE)?, &network(raw_bytes, CHECKPOINT_FILES[0])?, 1.0)
        }
        _ => network(raw_bytes, CHECKPOINT_FILES[0])?,
    };
    Ok(LoadedGenerator {
        generator,
        model: state.model,
        checkpoint: path.to_path_buf(),
        step: state.step,
        weights,
    })
}

/// `count` samples from noise drawn with `seed` (the fixed-noise stream, so the run's own seed
/// reproduces its sample grids), generated `chunk` at a time.
///
/// Returns `(noise [count, latent_dim], samples [count, channels, size, size])`, row-major,
/// samples in [-1, 1].
pub fn sample<B: Backend>(
    generator: &Generator<B>,
    latent_dim: usize,
    count: usize,
    seed: u64,
    device: &B::Device,
) -> Result<(Vec<f32>, Vec<f32>), TrainError> {
    const CHUNK: usize = 256;
    let noise = NoiseSource::new(seed, Stream::FixedNoise).normal_values(count, latent_dim);
    let mut samples = Vec::new();
    for chunk in noise.chunks(CHUNK * latent_dim) {
        let rows = chunk.len() / latent_dim;
        let z = Tensor::<B, 2>::from_data(TensorData::new(chunk.to_vec(), [rows, latent_dim]), device);
        let images = generator.try_forward(z)?.into_data().convert::<f32>();
        samples.extend(
            images
                .to_vec::<f32>()
                .map_err(|err| TrainError::TensorRead(format!("{err:?}")))?,
        );
    }
    Ok((noise, samples))
}

/// Tensors of the PyTorch module in `scripts/torch_generator.py`, by state-dict name.
fn torch_tensors<B: Backend>(generator: &Generator<B>) -> Vec<NamedTensor> {
    let mut out = linear_tensors("project", &generator.project);
    let mut norm = |prefix: &str, norm: &BatchNorm<B>| {
        for (name, tensor) in [
            ("weight", norm.gamma.val()),
            ("bias", norm.beta.val()),
            ("running_mean", norm.running_mean.value()),
            ("running_var", norm.running_var.value()),
        ] {
            out.push(named(format!("{prefix}.{name}"), tensor));
        }
    };
    norm("project_norm", &generator.project_norm);
    for (index, block) in generator.blocks.iter().enumerate() {
        norm(&format!("blocks.{index}.norm"), &block.norm);
    }
    for (index, block) in generator.blocks.iter().enumerate() {
        out.extend(conv_tensors(&format!("blocks.{index}.conv"), &block.conv));
    }
    out.extend(conv_tensors("output", &generator.output));
    out
}

/// Writes the generator as safetensors with PyTorch names and layouts; the architecture goes
/// into the header's metadata (`wgan.model`, TOML).
pub fn export_safetensors<B: Backend>(
    generator: &Generator<B>,
    model: &ModelConfig,
    path: &Path,
) -> Result<(), TrainError> {
    let tensors = torch_tensors(generator);
    let model_toml = toml::to_string(model).map_err(TrainError::Toml)?;
    let metadata = HashMap::from([
        ("wgan.model".to_string(), model_toml),
        ("format".to_string(), "pt".to_string()),
    ]);
    let serialized = safetensors_bytes(&tensors, metadata).map_err(TrainError::Safetensors)?;
    std::fs::write(path, serialized).map_err(|source| TrainError::io(path, source))
}
