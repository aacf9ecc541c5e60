//! Fashion-MNIST's splits and class names, and IDX images made into an [`ImageSet`].

use std::path::Path;

use crate::preprocess::{Preprocessing, ResizeMode};
use crate::resize::{Window, resize_plane};
use crate::{
    DataError, DatasetFiles, IdxImages, ImageSet, Pixels, read_idx_images, read_idx_labels, resize_bilinear,
    to_unit_range,
};

/// Fashion-MNIST's class names, by label.
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Which half of Fashion-MNIST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The 60 000 training images.
    Train,
    /// The 10 000 test images (the reference set for quality metrics).
    Test,
}

impl Split {
    /// Official file names without `.gz`: `(images, labels)`.
    pub fn file_stems(self) -> (&'static str, &'static str) {
        match self {
            Split::Train => ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
            Split::Test => ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
        }
    }
}

/// Reads an image/label IDX pair, checks they agree, and resizes every image to
/// `size × size` with bilinear half-pixel interpolation, scaled to [-1, 1]: one channel,
/// stored as [`Pixels::Unit`].
///
/// `source_size` is the `[rows, columns]` the files must have (`Some([28, 28])` for
/// Fashion-MNIST), or `None` to accept any.
pub fn load_image_set(
    files: &DatasetFiles,
    source_size: Option<[usize; 2]>,
    size: usize,
) -> Result<ImageSet, DataError> {
    let (images, labels) = read_idx_pair(&files.images, Some(&files.labels), source_size)?;
    idx_image_set(&images, labels, &Preprocessing::new(size, 1))
}

/// An IDX image file and its labels (all 0 without a label file), checked to agree in
/// count and, if `expected` is given, to be `[rows, columns]` = `expected`.
pub(crate) fn read_idx_pair(
    images: &Path,
    labels: Option<&Path>,
    expected: Option<[usize; 2]>,
) -> Result<(IdxImages, Vec<u32>), DataError> {
    let idx = read_idx_images(images)?;
    let actual = [idx.rows, idx.columns];
    if let Some(expected) = expected
        && actual != expected
    {
        return Err(DataError::ImageSize {
            path: images.to_path_buf(),
            expected,
            actual,
        });
    }
    let labels = match labels {
        Some(path) => {
            let labels = read_idx_labels(path)?.labels;
            if labels.len() != idx.count {
                return Err(DataError::CountMismatch {
                    images_path: images.to_path_buf(),
                    labels_path: path.to_path_buf(),
                    images: idx.count,
                    labels: labels.len(),
                });
            }
            labels.into_iter().map(u32::from).collect()
        }
        None => vec![0; idx.count],
    };
    Ok((idx, labels))
}

/// IDX images preprocessed to `prep`, in [-1, 1] as [`Pixels::Unit`].
///
/// Square images that are enlarged or kept (Fashion-MNIST's 28 → 32) take the bilinear
/// path of [`resize_bilinear`], unchanged since the first release; all others are cropped
/// or stretched and resized with the triangle filter. Gray is replicated to RGB.
pub fn idx_image_set(images: &IdxImages, labels: Vec<u32>, prep: &Preprocessing) -> Result<ImageSet, DataError> {
    prep.check()?;
    let (rows, columns, size) = (images.rows, images.columns, prep.size);
    let gray = if rows == columns && size >= rows {
        resize_bilinear(&images.pixels, rows, columns, size)
    } else {
        let window = match prep.resize {
            ResizeMode::CenterCrop => Window::centre_square(rows, columns),
            ResizeMode::Stretch => Window::whole(rows, columns),
        };
        images
            .pixels
            .chunks_exact(rows * columns)
            .flat_map(|image| {
                let plane: Vec<f32> = image.iter().map(|&v| f32::from(v)).collect();
                resize_plane(&plane, columns, window, size, size)
            })
            .map(to_unit_range)
            .collect()
    };
    let pixels = match prep.channels {
        1 => gray,
        channels => gray
            .chunks_exact(size * size)
            .flat_map(|plane| plane.repeat(channels))
            .collect(),
    };
    ImageSet::new(Pixels::Unit(pixels), labels, prep.channels, size)
}
