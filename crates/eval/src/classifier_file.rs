//! The trained classifier on disk: a directory with the weights and a description.
//!
//! ```text
//! PATH/classifier.bin    burn record of the network (full precision)
//! PATH/classifier.json   format, architecture, training settings, test accuracy, SHA-256 of the .bin
//! ```
//!
//! Written to `PATH.partial` and renamed into place, so a crash never leaves half a classifier.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::Backend;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Classifier, ClassifierConfig, ClassifierTraining, EvalError, TrainedClassifier};

pub use wgan_train::DEFAULT_CLASSIFIER_PATH;

/// Version of the classifier directory layout.
const CLASSIFIER_FORMAT: u32 = 1;

type ClassifierRecorder = BinBytesRecorder<FullPrecisionSettings, Vec<u8>>;

/// `classifier.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassifierInfo {
    /// [`CLASSIFIER_FORMAT`] when written.
    pub format: u32,
    /// The architecture.
    pub config: ClassifierConfig,
    /// How it was trained.
    pub training: ClassifierTraining,
    /// Fraction of the Fashion-MNIST test set classified correctly.
    pub test_accuracy: f64,
    /// SHA-256 of `classifier.bin`, hex.
    pub sha256: String,
}

/// A classifier loaded for feature extraction.
pub struct LoadedClassifier<B: Backend> {
    /// The network (inference mode).
    pub classifier: Classifier<B>,
    /// Its description.
    pub info: ClassifierInfo,
    /// The directory it was read from.
    pub path: PathBuf,
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Saves `trained` into the directory `path`, replacing a classifier already there.
pub fn save_classifier<B: Backend>(trained: &TrainedClassifier<B>, path: &Path) -> Result<(), EvalError> {
    let bytes = ClassifierRecorder::default()
        .record(trained.classifier.clone().into_record(), ())
        .map_err(|err| EvalError::Classifier {
            path: path.to_path_buf(),
            reason: format!("cannot serialise: {err}"),
        })?;
    let info = ClassifierInfo {
        format: CLASSIFIER_FORMAT,
        config: trained.config.clone(),
        training: trained.training.clone(),
        test_accuracy: trained.test_accuracy,
        sha256: sha256_hex(&bytes),
    };
    let json = serde_json::to_vec_pretty(&info).map_err(|err| EvalError::Classifier {
        path: path.to_path_buf(),
        reason: err.to_string(),
    })?;
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(|source| EvalError::io(&partial, source))?;
    }
    std::fs::create_dir_all(&partial).map_err(|source| EvalError::io(&partial, source))?;
    for (name, contents) in [("classifier.bin", &bytes), ("classifier.json", &json)] {
        let file = partial.join(name);
        std::fs::write(&file, contents).map_err(|source| EvalError::io(&file, source))?;
    }
    if path.exists() {
        std::fs::remove_dir_all(path).map_err(|source| EvalError::io(path, source))?;
    }
    std::fs::rename(&partial, path).map_err(|source| EvalError::io(path, source))
}

/// Loads the classifier saved in the directory `path`, verifying its checksum.
pub fn load_classifier<B: Backend>(path: &Path, device: &B::Device) -> Result<LoadedClassifier<B>, EvalError> {
    let info_path = path.join("classifier.json");
    let text = std::fs::read(&info_path).map_err(|source| EvalError::io(&info_path, source))?;
    let info: ClassifierInfo = serde_json::from_slice(&text).map_err(|err| EvalError::Classifier {
        path: info_path.clone(),
        reason: format!("not a classifier description: {err}"),
    })?;
    if info.format != CLASSIFIER_FORMAT {
        return Err(EvalError::Classifier {
            path: info_path,
            reason: format!(
                "classifier format {}, this build reads format {CLASSIFIER_FORMAT}",
                info.format
            ),
        });
    }
    let bin_path = path.join("classifier.bin");
    let bytes = std::fs::read(&bin_path).map_err(|source| EvalError::io(&bin_path, source))?;
    if sha256_hex(&bytes) != info.sha256 {
        return Err(EvalError::Classifier {
            path: bin_path,
            reason: "SHA-256 mismatch (truncated or corrupted); retrain with `wgan classifier train`".into(),
        });
    }
    let record = ClassifierRecorder::default()
        .load(bytes, device)
        .map_err(|err| EvalError::Classifier {
            path: bin_path.clone(),
            reason: err.to_string(),
        })?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let classifier = Classifier::new(&info.config, &mut rng, device).load_record(record);
    Ok(LoadedClassifier {
        classifier,
        info,
        path: path.to_path_buf(),
    })
}
