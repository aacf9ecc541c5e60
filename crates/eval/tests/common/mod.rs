//! What the quality tests share: the real Fashion-MNIST, when it is installed.

use std::path::PathBuf;

use wgan_data::{DatasetSources, ImageSet, SYSTEM_DATASET_DIR, Split, load_image_set};

/// The real Fashion-MNIST split at 32×32, or `None` when the files are not installed.
fn real(split: Split) -> Option<ImageSet> {
    let sources = DatasetSources {
        explicit: None,
        search_dirs: vec![PathBuf::from(SYSTEM_DATASET_DIR)],
        download: None,
    };
    let files = sources.locate(split).ok()?;
    Some(load_image_set(&files, Some([28, 28]), 32).unwrap())
}

/// The real training and test splits, or `None` after printing why the test is skipped.
pub fn real_train_and_test() -> Option<(ImageSet, ImageSet)> {
    let (Some(train), Some(test)) = (real(Split::Train), real(Split::Test)) else {
        println!("SKIPPED: Fashion-MNIST not found in {SYSTEM_DATASET_DIR} (apt-get install dataset-fashion-mnist)");
        return None;
    };
    Some((train, test))
}
