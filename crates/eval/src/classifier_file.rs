//! The classifier on disk: one safetensors file, framework-neutral, and the reference copy
//! shipped inside wgan.
//!
//! Tensors, with PyTorch's names and layouts (`f32`, little-endian):
//!
//! ```text
//! stem.weight          [32, 1, 5, 5]    conv, stride 2, padding 2
//! stem.bias            [32]
//! blocks.0.conv.weight [64, 32, 3, 3]   conv, stride 1, padding 1; then ReLU, max-pool 2×2
//! blocks.0.conv.bias   [64]
//! blocks.1.conv.weight [128, 64, 3, 3]  conv, stride 1, padding 1; then ReLU, max-pool 2×2
//! blocks.1.conv.bias   [128]
//! features.weight      [256, 2048]      dense [out, in] on the (channel, row, column) flattening
//! features.bias        [256]
//! logits.weight        [10, 256]        dense [out, in]
//! logits.bias          [10]
//! ```
//!
//! Header metadata: `wgan.classifier.format` (1), `wgan.classifier.config` and
//! `wgan.classifier.training` (JSON), `wgan.classifier.test_accuracy`.
//!
//! **The reference** is the classifier that defines FD-FMNIST, KID, precision/recall and the
//! classifier IS: `assets/fd-fmnist/classifier.safetensors`, compiled into the binary, whose
//! SHA-256 is [`REFERENCE_CLASSIFIER_SHA256`]. Numbers from any other file are not on the
//! reference scale, and every report says which one was used.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::module::Param;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rand::SeedableRng;
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wgan_train::torch_layout::{NamedTensor, conv_tensors, linear_tensors, safetensors_bytes, transposed};

use crate::{Classifier, ClassifierConfig, ClassifierTraining, EvalError, TrainedClassifier};

pub use wgan_train::DEFAULT_CLASSIFIER_PATH;

/// Version of the classifier file layout.
const CLASSIFIER_FORMAT: &str = "1";

/// The shipped reference classifier's bytes.
static REFERENCE_BYTES: &[u8] = include_bytes!("../../../assets/fd-fmnist/classifier.safetensors");

/// SHA-256 of the reference classifier file: the definition of the metrics' feature space.
pub const REFERENCE_CLASSIFIER_SHA256: &str = "60ff90d744650ddff02d7671eced648ae6ecd954b6881ed939021d511a731886";

/// Where a classifier comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClassifierSource {
    /// The reference compiled into wgan.
    Reference,
    /// A safetensors file (for example written by `wgan classifier train`).
    File(PathBuf),
}

impl ClassifierSource {
    /// The reference for `None`, else the file.
    pub fn from_option(path: Option<&Path>) -> Self {
        path.map_or(Self::Reference, |path| Self::File(path.to_path_buf()))
    }

    /// How messages name it.
    pub fn describe(&self) -> String {
        match self {
            Self::Reference => "the reference classifier (built in)".into(),
            Self::File(path) => path.display().to_string(),
        }
    }

    fn path(&self) -> PathBuf {
        match self {
            Self::Reference => PathBuf::from("<reference classifier>"),
            Self::File(path) => path.clone(),
        }
    }
}

/// What a classifier file says about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassifierInfo {
    /// The architecture.
    pub config: ClassifierConfig,
    /// How it was trained.
    pub training: ClassifierTraining,
    /// Fraction of the Fashion-MNIST test set classified correctly.
    pub test_accuracy: f64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Whether the file is byte for byte the reference.
    pub is_reference: bool,
}

/// A classifier loaded for feature extraction.
pub struct LoadedClassifier<B: Backend> {
    /// The network (inference mode).
    pub classifier: Classifier<B>,
    /// Its description.
    pub info: ClassifierInfo,
    /// Where it was read from.
    pub source: ClassifierSource,
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The classifier's tensors under the documented names, PyTorch layouts.
fn named_tensors<B: Backend>(classifier: &Classifier<B>) -> Vec<NamedTensor> {
    let mut out = conv_tensors("stem", &classifier.stem);
    for (i, block) in classifier.blocks.iter().enumerate() {
        out.extend(conv_tensors(&format!("blocks.{i}.conv"), &block.conv));
    }
    out.extend(linear_tensors("features", &classifier.features));
    out.extend(linear_tensors("logits", &classifier.logits));
    out
}

/// Writes `trained` to the safetensors file `path` (through a temporary file and a rename, so
/// a crash never leaves half a classifier) and returns the file's SHA-256.
pub fn save_classifier<B: Backend>(trained: &TrainedClassifier<B>, path: &Path) -> Result<String, EvalError> {
    let failed = |reason: String| EvalError::Classifier {
        path: path.to_path_buf(),
        reason,
    };
    let config = serde_json::to_string(&trained.config).map_err(|err| failed(err.to_string()))?;
    let training = serde_json::to_string(&trained.training).map_err(|err| failed(err.to_string()))?;
    let metadata = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        ("wgan.classifier.format".to_string(), CLASSIFIER_FORMAT.to_string()),
        ("wgan.classifier.config".to_string(), config),
        ("wgan.classifier.training".to_string(), training),
        (
            "wgan.classifier.test_accuracy".to_string(),
            trained.test_accuracy.to_string(),
        ),
    ]);
    let bytes =
        safetensors_bytes(&named_tensors(&trained.classifier), metadata).map_err(|err| failed(err.to_string()))?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| EvalError::io(parent, source))?;
    }
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    std::fs::write(&partial, &bytes).map_err(|source| EvalError::io(&partial, source))?;
    std::fs::rename(&partial, path).map_err(|source| EvalError::io(path, source))?;
    Ok(sha256_hex(&bytes))
}

/// Loads the classifier from `source`, checking every tensor's name, type and shape.
pub fn load_classifier<B: Backend>(
    source: &ClassifierSource,
    device: &B::Device,
) -> Result<LoadedClassifier<B>, EvalError> {
    let owned;
    let bytes: &[u8] = match source {
        ClassifierSource::Reference => REFERENCE_BYTES,
        ClassifierSource::File(path) => {
            if path.is_dir() {
                return Err(EvalError::Classifier {
                    path: path.clone(),
                    reason: "is a directory; a classifier is one .safetensors file (leave data.classifier and \
                             --classifier out to use the reference)"
                        .into(),
                });
            }
            owned = std::fs::read(path).map_err(|source| EvalError::io(path, source))?;
            &owned
        }
    };
    let path = source.path();
    let sha256 = sha256_hex(bytes);
    let is_reference = sha256 == REFERENCE_CLASSIFIER_SHA256;
    if *source == ClassifierSource::Reference && !is_reference {
        return Err(EvalError::Classifier {
            path,
            reason: format!("the built-in reference has SHA-256 {sha256}, not {REFERENCE_CLASSIFIER_SHA256}"),
        });
    }
    let (classifier, info) = decode(bytes, sha256, is_reference, device).map_err(|reason| EvalError::Classifier {
        path: path.clone(),
        reason,
    })?;
    Ok(LoadedClassifier {
        classifier,
        info,
        source: source.clone(),
    })
}

/// A parameter of `shape` holding `values`.
fn param<B: Backend, const D: usize>(values: Vec<f32>, shape: [usize; D], device: &B::Device) -> Param<Tensor<B, D>> {
    Param::from_tensor(Tensor::from_data(TensorData::new(values, shape), device))
}

/// The network and its description from a file's bytes; errors say what is wrong.
fn decode<B: Backend>(
    bytes: &[u8],
    sha256: String,
    is_reference: bool,
    device: &B::Device,
) -> Result<(Classifier<B>, ClassifierInfo), String> {
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|err| format!("not a safetensors file: {err}"))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let field = |key: &str| {
        metadata
            .get(key)
            .cloned()
            .ok_or_else(|| format!("no `{key}` in the header metadata: not a wgan classifier"))
    };
    let format = field("wgan.classifier.format")?;
    if format != CLASSIFIER_FORMAT {
        return Err(format!(
            "classifier format {format}, this build reads format {CLASSIFIER_FORMAT}"
        ));
    }
    let config: ClassifierConfig =
        serde_json::from_str(&field("wgan.classifier.config")?).map_err(|err| format!("config: {err}"))?;
    let training: ClassifierTraining =
        serde_json::from_str(&field("wgan.classifier.training")?).map_err(|err| format!("training: {err}"))?;
    let test_accuracy: f64 = field("wgan.classifier.test_accuracy")?
        .parse()
        .map_err(|err| format!("test_accuracy: {err}"))?;
    let tensors = SafeTensors::deserialize(bytes).map_err(|err| format!("not a safetensors file: {err}"))?;
    let mut classifier = Classifier::<B>::new(&config, &mut rand_chacha::ChaCha8Rng::seed_from_u64(0), device);
    let expected = named_tensors(&classifier);
    let mut loaded: HashMap<String, Vec<f32>> = HashMap::new();
    for (name, shape, _) in &expected {
        let view = tensors.tensor(name).map_err(|_| format!("no tensor `{name}`"))?;
        if view.dtype() != Dtype::F32 || view.shape() != shape.as_slice() {
            return Err(format!(
                "tensor `{name}` is {:?} {:?}, expected F32 {shape:?}",
                view.dtype(),
                view.shape()
            ));
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if values.iter().any(|v| !v.is_finite()) {
            return Err(format!("tensor `{name}` has NaN or infinite values"));
        }
        loaded.insert(name.clone(), values);
    }
    let mut take = |name: &str| loaded.remove(name).unwrap_or_default();
    let mut set_conv = |name: &str, conv: &mut burn::nn::conv::Conv2d<B>| {
        conv.weight = param(take(&format!("{name}.weight")), conv.weight.dims(), device);
        if let Some(bias) = &conv.bias {
            conv.bias = Some(param(take(&format!("{name}.bias")), bias.dims(), device));
        }
    };
    set_conv("stem", &mut classifier.stem);
    for (i, block) in classifier.blocks.iter_mut().enumerate() {
        set_conv(&format!("blocks.{i}.conv"), &mut block.conv);
    }
    for (name, dense) in [
        ("features", &mut classifier.features),
        ("logits", &mut classifier.logits),
    ] {
        let [input, output] = dense.weight.dims();
        let weight = transposed(&take(&format!("{name}.weight")), output, input);
        dense.weight = param(weight, [input, output], device);
        if let Some(bias) = &dense.bias {
            dense.bias = Some(param(take(&format!("{name}.bias")), bias.dims(), device));
        }
    }
    let info = ClassifierInfo {
        config,
        training,
        test_accuracy,
        sha256,
        is_reference,
    };
    Ok((classifier, info))
}
