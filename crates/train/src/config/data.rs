//! `[data]`: where the images come from, how they are preprocessed, and the batch size.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use wgan_data::{AlphaBackground, DataSpec, Preprocessing, ResizeMode, SourceKind, Split, UnreadablePolicy};
use wgan_model::ModelConfig;

use crate::ConfigError;

/// Where `wgan classifier train` saves a classifier it trains, relative to the working
/// directory. Runs and `wgan eval` use the shipped reference unless told otherwise.
pub const DEFAULT_CLASSIFIER_PATH: &str = "models/fashion-classifier.safetensors";

/// Data settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// `fashion-mnist` (the default), `idx`, `image-folder` or `npy`.
    #[serde(default)]
    pub source: SourceKind,
    /// The folder, file or array. For `fashion-mnist`, the directory of its IDX files;
    /// absent: search `datasets/fashion-mnist/`, then `/usr/share/datasets/fashion-mnist/`,
    /// then download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// The IDX label file of the `idx` source. Absent: `*-labels-idx1-ubyte[.gz]` beside
    /// the images if it exists, else every label is 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<PathBuf>,
    /// Real images per critic step. Seed: 64.
    pub batch_size: usize,
    /// How non-square images become square: `center-crop` (default) or `stretch`.
    #[serde(default)]
    pub resize: ResizeMode,
    /// What transparent pixels are flattened onto: `black` (default) or `white`.
    #[serde(default)]
    pub alpha_background: AlphaBackground,
    /// Mirror each real image left–right with probability ½, drawn from the seeded data
    /// stream (so resume stays exact). Default false.
    #[serde(default)]
    pub horizontal_flip: bool,
    /// Skip image files that cannot be decoded instead of failing at the first. Default false.
    #[serde(default)]
    pub skip_unreadable: bool,
    /// With `skip_unreadable`, the largest fraction of image files that may be unreadable
    /// before the load fails. Default 0.01.
    #[serde(default = "default_max_unreadable_fraction")]
    pub max_unreadable_fraction: f64,
    /// Cache an image folder's preprocessed images, so later starts skip decoding. Default true.
    #[serde(default = "default_true")]
    pub cache: bool,
    /// Where the cache files go. Absent: `$XDG_CACHE_HOME/wgan/datasets` or
    /// `~/.cache/wgan/datasets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_dir: Option<PathBuf>,
    /// A classifier file (safetensors, as `wgan classifier train` writes) to measure quality
    /// with instead of the shipped reference; absent: the reference, whose numbers are
    /// comparable across runs, machines and frameworks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classifier: Option<PathBuf>,
}

fn default_max_unreadable_fraction() -> f64 {
    0.01
}

fn default_true() -> bool {
    true
}

impl DataConfig {
    /// The seed's data settings: Fashion-MNIST by the standard search, batches of 64.
    pub fn seed() -> Self {
        Self {
            source: SourceKind::FashionMnist,
            path: None,
            labels: None,
            batch_size: 64,
            resize: ResizeMode::CenterCrop,
            alpha_background: AlphaBackground::Black,
            horizontal_flip: false,
            skip_unreadable: false,
            max_unreadable_fraction: default_max_unreadable_fraction(),
            cache: true,
            cache_dir: None,
            classifier: None,
        }
    }

    /// What to load for a model with `model`'s image size and channels.
    pub fn spec(&self, model: &ModelConfig) -> DataSpec {
        DataSpec {
            source: self.source,
            path: self.path.clone(),
            labels: self.labels.clone(),
            split: Split::Train,
            preprocessing: Preprocessing {
                size: model.image_size,
                channels: model.channels,
                resize: self.resize,
                background: self.alpha_background,
            },
            unreadable: UnreadablePolicy {
                skip: self.skip_unreadable,
                max_fraction: self.max_unreadable_fraction,
            },
            cache_dir: self
                .cache
                .then(|| self.cache_dir.clone().unwrap_or_else(wgan_data::default_cache_dir)),
        }
    }

    /// Range and consistency checks; the error names the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let range = |field: &str, reason: String| {
            Err(ConfigError::Range {
                field: field.into(),
                reason,
            })
        };
        if self.batch_size == 0 {
            return range("data.batch_size", "must be at least 1".into());
        }
        if self.source != SourceKind::FashionMnist && self.path.is_none() {
            return range(
                "data.path",
                format!("data.source = \"{}\" needs the path of its data", self.source.name()),
            );
        }
        if self.labels.is_some() && self.source != SourceKind::Idx {
            return range(
                "data.labels",
                format!(
                    "only the idx source takes a label file (data.source = \"{}\")",
                    self.source.name()
                ),
            );
        }
        if !(0.0..=1.0).contains(&self.max_unreadable_fraction) {
            return range(
                "data.max_unreadable_fraction",
                format!("must be in [0, 1], got {}", self.max_unreadable_fraction),
            );
        }
        Ok(())
    }
}
