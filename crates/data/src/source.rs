//! The four data sources and the one entry point that loads any of them.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::cache::CacheSlot;
use crate::decode::{UnreadablePolicy, decode_files};
use crate::fashion_mnist::read_idx_pair;
use crate::folder::list_folder;
use crate::idx::{IMAGES_MAGIC, read_decompressed};
use crate::image_set::Pixels;
use crate::npy::read_npy_images;
use crate::preprocess::Preprocessing;
use crate::report::{CacheStatus, DataReport};
use crate::{DataError, DatasetSources, FASHION_MNIST_CLASSES, ImageSet, Split, idx_image_set};

/// Where the training images come from (`data.source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// Fashion-MNIST's IDX files, found by the standard search (or in `data.path`).
    #[default]
    FashionMnist,
    /// Any IDX image file (`data.path`), with its label file if one is named or lies beside it.
    Idx,
    /// A folder searched recursively for images; one level of subfolders names the classes.
    ImageFolder,
    /// A NumPy `.npy` image array.
    Npy,
}

impl SourceKind {
    /// The config spelling: `fashion-mnist`, `idx`, `image-folder` or `npy`.
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::FashionMnist => "fashion-mnist",
            SourceKind::Idx => "idx",
            SourceKind::ImageFolder => "image-folder",
            SourceKind::Npy => "npy",
        }
    }

    /// The source a path most likely is: a directory is an image folder, a `.npy` file an
    /// array, a file starting with the IDX image magic (raw or gzipped) an IDX file.
    pub fn detect(path: &Path) -> Result<Self, DataError> {
        let metadata = std::fs::metadata(path).map_err(|error| DataError::io(path, error))?;
        if metadata.is_dir() {
            return Ok(SourceKind::ImageFolder);
        }
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy")) {
            return Ok(SourceKind::Npy);
        }
        let bytes = read_decompressed(path)?;
        if bytes.get(..4) == Some(&IMAGES_MAGIC.to_be_bytes()[..]) {
            return Ok(SourceKind::Idx);
        }
        Err(DataError::Setting {
            field: "data.source",
            reason: format!(
                "{} is not a folder, a .npy array or an IDX image file; name the source with --source",
                path.display()
            ),
        })
    }
}

/// Everything a load needs: the source, the preprocessing and the cache.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSpec {
    /// The kind of source.
    pub source: SourceKind,
    /// The folder, file, or Fashion-MNIST directory (`None`: the standard search).
    pub path: Option<PathBuf>,
    /// An IDX label file for the `idx` source.
    pub labels: Option<PathBuf>,
    /// Which Fashion-MNIST split (the `fashion-mnist` source only).
    pub split: Split,
    /// Target size, channels, crop rule and alpha background.
    pub preprocessing: Preprocessing,
    /// What to do with unreadable image files.
    pub unreadable: UnreadablePolicy,
    /// Directory of the image-folder cache; `None` turns it off.
    pub cache_dir: Option<PathBuf>,
}

impl DataSpec {
    /// `source` at `path` preprocessed by `preprocessing`: the training split, no label
    /// file, failing at the first unreadable image, no cache.
    pub fn new(source: SourceKind, path: impl Into<PathBuf>, preprocessing: Preprocessing) -> Self {
        Self {
            source,
            path: Some(path.into()),
            labels: None,
            split: Split::Train,
            preprocessing,
            unreadable: UnreadablePolicy::STRICT,
            cache_dir: None,
        }
    }
}

/// A loaded source: the images and what the load saw.
#[derive(Debug, Clone)]
pub struct LoadedData {
    /// The preprocessed images.
    pub images: ImageSet,
    /// Counts, classes, sizes, skipped files and the cache.
    pub report: DataReport,
}

/// Progress of a load, for a progress bar; called from many threads.
pub trait LoadProgress: Sync {
    /// `files` image files are about to be decoded.
    fn begin(&self, _files: usize) {}
    /// One more file was decoded (or failed).
    fn advance(&self) {}
}

impl LoadProgress for () {}

/// Loads and preprocesses the source `spec` names.
pub fn load_data(spec: &DataSpec, progress: &dyn LoadProgress) -> Result<LoadedData, DataError> {
    spec.preprocessing.check()?;
    let started = Instant::now();
    let required_path = || {
        spec.path.clone().ok_or(DataError::Setting {
            field: "data.path",
            reason: format!("data.source = \"{}\" needs the path of its data", spec.source.name()),
        })
    };
    let mut loaded = match spec.source {
        SourceKind::FashionMnist => {
            let files = DatasetSources::standard(spec.path.clone()).locate(spec.split)?;
            let mut loaded = load_idx(
                &files.images,
                Some(&files.labels),
                Some(FASHION_MNIST_SIZE),
                &spec.preprocessing,
                "fashion-mnist",
            )?;
            loaded.images = loaded
                .images
                .with_classes(FASHION_MNIST_CLASSES.map(String::from).to_vec());
            loaded.report.classes = FASHION_MNIST_CLASSES
                .iter()
                .map(|c| c.to_string())
                .zip(class_counts(&loaded.images))
                .collect();
            loaded
        }
        SourceKind::Idx => {
            let images = required_path()?;
            let labels = spec.labels.clone().or_else(|| sibling_labels(&images));
            load_idx(&images, labels.as_deref(), None, &spec.preprocessing, "idx")?
        }
        SourceKind::ImageFolder => load_folder(&required_path()?, spec, progress)?,
        SourceKind::Npy => {
            let path = required_path()?;
            let decoded = read_npy_images(&path, &spec.preprocessing)?;
            let images = ImageSet::new(
                Pixels::Bytes(decoded.pixels),
                decoded.labels,
                spec.preprocessing.channels,
                spec.preprocessing.size,
            )?;
            let report = report_for("npy", &path, &images, &decoded.sizes, decoded.modes);
            LoadedData { images, report }
        }
    };
    loaded.report.seconds = started.elapsed().as_secs_f64();
    Ok(loaded)
}

/// Fashion-MNIST's `[rows, columns]`; other sizes in its files mean the wrong files.
const FASHION_MNIST_SIZE: [usize; 2] = [28, 28];

/// An IDX image file, with its labels if given, preprocessed; `expected` is the
/// `[rows, columns]` the images must have, if any.
fn load_idx(
    images: &Path,
    labels: Option<&Path>,
    expected: Option<[usize; 2]>,
    prep: &Preprocessing,
    kind: &str,
) -> Result<LoadedData, DataError> {
    let (idx, labels) = read_idx_pair(images, labels, expected)?;
    let sizes = [((idx.columns as u32, idx.rows as u32), idx.count)]
        .into_iter()
        .collect();
    let modes = [("idx u8 gray".to_string(), idx.count)].into_iter().collect();
    let set = idx_image_set(&idx, labels, prep)?;
    let report = report_for(kind, images, &set, &sizes, modes);
    Ok(LoadedData { images: set, report })
}

/// MNIST's naming: `train-images-idx3-ubyte[.gz]` has `train-labels-idx1-ubyte[.gz]` beside it.
fn sibling_labels(images: &Path) -> Option<PathBuf> {
    let name = images
        .file_name()?
        .to_string_lossy()
        .replace("images-idx3", "labels-idx1");
    let candidate = images.with_file_name(name);
    (candidate != images && candidate.is_file()).then_some(candidate)
}

fn load_folder(root: &Path, spec: &DataSpec, progress: &dyn LoadProgress) -> Result<LoadedData, DataError> {
    let prep = &spec.preprocessing;
    let listing = list_folder(root)?;
    let slot = spec
        .cache_dir
        .as_deref()
        .map(|dir| CacheSlot::new(dir, &listing, prep, &spec.unreadable));
    let mut miss_reason = String::new();
    if let Some(slot) = &slot {
        match slot.read() {
            Ok(cached) => {
                let images = ImageSet::new(Pixels::Bytes(cached.pixels), cached.labels, prep.channels, prep.size)?
                    .with_classes(cached.header.classes);
                let mut report = cached.header.report;
                report.cache = CacheStatus::Hit {
                    path: slot.path.display().to_string(),
                };
                return Ok(LoadedData { images, report });
            }
            Err(reason) => miss_reason = reason,
        }
    }
    progress.begin(listing.files.len());
    let decoded = decode_files(&listing.files, prep, spec.unreadable, &|| progress.advance())?;
    let images = ImageSet::new(Pixels::Bytes(decoded.pixels), decoded.labels, prep.channels, prep.size)?
        .with_classes(listing.classes.clone());
    let mut report = report_for("image-folder", root, &images, &decoded.sizes, decoded.modes);
    report.skipped = listing.skipped;
    report.skipped_examples = listing.skipped_examples;
    report.unreadable = decoded.unreadable;
    if let (Some(slot), Some(bytes)) = (&slot, images.pixels().as_bytes()) {
        report.cache = match slot.write(bytes, images.labels(), images.classes(), &report) {
            Ok(()) => CacheStatus::Written {
                path: slot.path.display().to_string(),
                reason: miss_reason,
            },
            Err(error) => CacheStatus::WriteFailed {
                reason: error.to_string(),
            },
        };
    }
    Ok(LoadedData { images, report })
}

/// Images per class, in label order.
fn class_counts(images: &ImageSet) -> Vec<usize> {
    let mut counts = vec![0usize; images.classes().len()];
    for &label in images.labels() {
        if let Some(count) = counts.get_mut(label as usize) {
            *count += 1;
        }
    }
    counts
}

fn report_for(
    kind: &str,
    path: &Path,
    images: &ImageSet,
    sizes: &std::collections::BTreeMap<(u32, u32), usize>,
    modes: std::collections::BTreeMap<String, usize>,
) -> DataReport {
    let counts = class_counts(images);
    DataReport {
        source: format!("{kind} {}", path.display()),
        count: images.len(),
        channels: images.channels(),
        size: images.size(),
        classes: images.classes().iter().cloned().zip(counts).collect(),
        sizes: DataReport::sizes_from(sizes),
        modes,
        skipped: 0,
        skipped_examples: Vec::new(),
        unreadable: Vec::new(),
        cache: CacheStatus::Off,
        seconds: 0.0,
    }
}
