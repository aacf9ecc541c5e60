//! Fashion-MNIST's splits and class names, and IDX images made into an [`ImageSet`].

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
    let images = read_idx_images(&files.images)?;
    let actual = [images.rows, images.columns];
    if let Some(expected) = source_size
        && actual != expected
    {
        return Err(DataError::ImageSize {
            path: files.images.clone(),
            expected,
            actual,
        });
    }
    let labels = read_idx_labels(&files.labels)?.labels;
    if labels.len() != images.count {
        return Err(DataError::CountMismatch {
            images_path: files.images.clone(),
            labels_path: files.labels.clone(),
            images: images.count,
            labels: labels.len(),
        });
    }
    let prep = Preprocessing {
        size,
        channels: 1,
        resize: ResizeMode::CenterCrop,
        background: Default::default(),
    };
    idx_image_set(&images, labels.into_iter().map(u32::from).collect(), &prep)
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
