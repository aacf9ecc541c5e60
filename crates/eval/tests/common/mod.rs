//! What the quality tests share: the real Fashion-MNIST, when it is installed.

use std::path::PathBuf;

use wgan_data::{DatasetSources, ImageSet, SYSTEM_DATASET_DIR, Split, load_image_set};

/// The real Fashion-MNIST split at 32×32, or `None` when the files are not installed.
pub fn real(split: Split) -> Option<ImageSet> {
    let sources = DatasetSources {
        explicit: None,
        search_dirs: vec![PathBuf::from(SYSTEM_DATASET_DIR)],
        download: None,
    };
    let files = sources.locate(split).ok()?;
    Some(load_image_set(&files, Some([28, 28]), 32).unwrap())
}
