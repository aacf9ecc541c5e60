//! Finding and loading Fashion-MNIST for the commands.

use std::path::PathBuf;

use anyhow::Context;
use wgan_data::{DatasetSources, ImageSet, Split, load_image_set};

/// Fashion-MNIST's image size in its IDX files.
pub const SOURCE_SIZE: [usize; 2] = [28, 28];

/// One split of Fashion-MNIST resized to `size × size`, found in `dir` or by the standard
/// search (project `datasets/`, the Debian package, the official mirror).
pub fn load_split(split: Split, dir: Option<PathBuf>, size: usize) -> anyhow::Result<ImageSet> {
    let name = match split {
        Split::Train => "training",
        Split::Test => "test",
    };
    let files = DatasetSources::standard(dir)
        .locate(split)
        .with_context(|| format!("finding the {name} data"))?;
    eprintln!("{name} data: {}", files.images.display());
    load_image_set(&files, Some(SOURCE_SIZE), size).with_context(|| format!("loading the {name} data"))
}
