//! A preprocessed image set (Fashion-MNIST or any IDX pair) held in memory.

use burn::tensor::{Tensor, TensorData, backend::Backend};

use crate::{DataError, DatasetFiles, read_idx_images, read_idx_labels, resize_bilinear};

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

/// Images resized to `size × size`, one channel, pixels in [-1, 1], with their labels.
#[derive(Debug, Clone)]
pub struct ImageSet {
    /// `[len, 1, size, size]` row-major.
    pub pixels: Vec<f32>,
    /// One label per image.
    pub labels: Vec<u8>,
    /// Image side after resizing.
    pub size: usize,
}

impl ImageSet {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set has no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Image `index` as `size · size` values in [-1, 1].
    pub fn image(&self, index: usize) -> &[f32] {
        let len = self.size * self.size;
        &self.pixels[index * len..(index + 1) * len]
    }

    /// Copies the images at `indices` into one tensor.
    ///
    /// # Shapes
    /// - output: `[indices.len(), 1, size, size]`, pixels in [-1, 1]
    pub fn batch<B: Backend>(&self, indices: &[u32], device: &B::Device) -> Tensor<B, 4> {
        let mut data = Vec::with_capacity(indices.len() * self.size * self.size);
        for &index in indices {
            data.extend_from_slice(self.image(index as usize));
        }
        Tensor::from_data(TensorData::new(data, [indices.len(), 1, self.size, self.size]), device)
    }
}

/// Reads an image/label IDX pair, checks they agree, and resizes every image to
/// `size × size` with bilinear half-pixel interpolation, scaled to [-1, 1].
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
    let pixels = resize_bilinear(&images.pixels, images.rows, images.columns, size);
    Ok(ImageSet { pixels, labels, size })
}
