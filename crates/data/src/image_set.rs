//! A preprocessed image set held in memory, and the batches copied out of it.

use std::borrow::Cow;
use std::ops::Range;

use burn::tensor::{Tensor, TensorData, backend::Backend};

use crate::{DataError, to_unit_range};

/// The stored pixels of an [`ImageSet`], `[len, channels, size, size]` row-major.
#[derive(Debug, Clone, PartialEq)]
pub enum Pixels {
    /// Values in [-1, 1]: the IDX sources, whose bilinear resize leaves fractional values.
    Unit(Vec<f32>),
    /// Bytes in 0..=255, mapped to [-1, 1] by `(x − 127.5) / 127.5` as batches are copied
    /// out: image folders and NPY arrays, a quarter of the memory.
    Bytes(Vec<u8>),
}

impl Pixels {
    /// The bytes, if stored as [`Pixels::Bytes`].
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Pixels::Bytes(bytes) => Some(bytes),
            Pixels::Unit(_) => None,
        }
    }

    fn len(&self) -> usize {
        match self {
            Pixels::Unit(values) => values.len(),
            Pixels::Bytes(values) => values.len(),
        }
    }
}

/// Images of `channels × size × size` with one label each, and the class names if the
/// source has any (an image folder's subfolders).
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSet {
    pixels: Pixels,
    labels: Vec<u32>,
    classes: Vec<String>,
    channels: usize,
    size: usize,
}

impl ImageSet {
    /// Checks that `pixels` holds exactly one `channels × size × size` image per label.
    pub fn new(pixels: Pixels, labels: Vec<u32>, channels: usize, size: usize) -> Result<Self, DataError> {
        let image_len = channels * size * size;
        if image_len == 0 || pixels.len() != labels.len() * image_len {
            return Err(DataError::Shape {
                reason: format!(
                    "{} pixel values are not {} images of {channels}×{size}×{size}",
                    pixels.len(),
                    labels.len()
                ),
            });
        }
        Ok(Self {
            pixels,
            labels,
            classes: Vec::new(),
            channels,
            size,
        })
    }

    /// The same images with class names (label `i` is `classes[i]`).
    pub fn with_classes(mut self, classes: Vec<String>) -> Self {
        self.classes = classes;
        self
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set has no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Image side in pixels.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Channels per image (1 gray, 3 RGB).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Values per image: `channels · size · size`.
    pub fn image_len(&self) -> usize {
        self.channels * self.size * self.size
    }

    /// One label per image (0 for every image of an unlabelled source).
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// Class names, indexed by label; empty when the source has none.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The stored pixels.
    pub fn pixels(&self) -> &Pixels {
        &self.pixels
    }

    /// Every image's values in [-1, 1], `[len, channels, size, size]` row-major; borrowed
    /// when the set is stored as [`Pixels::Unit`].
    pub fn unit_pixels(&self) -> Cow<'_, [f32]> {
        self.unit_range(0..self.len())
    }

    /// Images `range` in [-1, 1], `[range.len(), channels, size, size]` row-major.
    pub fn unit_range(&self, range: Range<usize>) -> Cow<'_, [f32]> {
        let span = range.start * self.image_len()..range.end * self.image_len();
        match &self.pixels {
            Pixels::Unit(values) => Cow::Borrowed(&values[span]),
            Pixels::Bytes(values) => Cow::Owned(values[span].iter().map(|&v| to_unit_range(f32::from(v))).collect()),
        }
    }

    /// Keeps the first `len` images.
    pub fn truncate(&mut self, len: usize) {
        let len = len.min(self.len());
        let values = len * self.image_len();
        match &mut self.pixels {
            Pixels::Unit(pixels) => pixels.truncate(values),
            Pixels::Bytes(pixels) => pixels.truncate(values),
        }
        self.labels.truncate(len);
    }

    /// Images `range` as a set of their own.
    pub fn subset(&self, range: Range<usize>) -> ImageSet {
        let span = range.start * self.image_len()..range.end * self.image_len();
        let pixels = match &self.pixels {
            Pixels::Unit(values) => Pixels::Unit(values[span].to_vec()),
            Pixels::Bytes(values) => Pixels::Bytes(values[span].to_vec()),
        };
        ImageSet {
            pixels,
            labels: self.labels[range].to_vec(),
            classes: self.classes.clone(),
            channels: self.channels,
            size: self.size,
        }
    }

    /// Copies the images at `indices` into one tensor, mirroring image `i` left–right where
    /// `flips[i]` is true.
    ///
    /// # Shapes
    /// - `flips`: `[indices.len()]` if given
    /// - output: `[indices.len(), channels, size, size]`, pixels in [-1, 1]
    pub fn batch<B: Backend>(&self, indices: &[u32], flips: Option<&[bool]>, device: &B::Device) -> Tensor<B, 4> {
        let image_len = self.image_len();
        let mut data = Vec::with_capacity(indices.len() * image_len);
        for (position, &index) in indices.iter().enumerate() {
            let start = index as usize * image_len;
            let flip = flips.is_some_and(|flips| flips.get(position).copied().unwrap_or(false));
            match &self.pixels {
                Pixels::Unit(values) => {
                    extend_row_wise(&mut data, &values[start..start + image_len], self.size, flip, |v| v)
                }
                Pixels::Bytes(values) => {
                    extend_row_wise(&mut data, &values[start..start + image_len], self.size, flip, |v| {
                        to_unit_range(f32::from(v))
                    })
                }
            }
        }
        let shape = [indices.len(), self.channels, self.size, self.size];
        Tensor::from_data(TensorData::new(data, shape), device)
    }
}

/// Appends one image's rows, each reversed when `flip`, converted by `convert`.
fn extend_row_wise<T: Copy>(out: &mut Vec<f32>, image: &[T], size: usize, flip: bool, convert: impl Fn(T) -> f32) {
    if flip {
        for row in image.chunks_exact(size) {
            out.extend(row.iter().rev().map(|&v| convert(v)));
        }
    } else {
        out.extend(image.iter().map(|&v| convert(v)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type B = burn::backend::Flex;

    #[test]
    fn byte_and_unit_storage_give_the_same_batches_and_flips_mirror_rows() {
        // Two 1×2×2 images: [[0, 255], [51, 102]] and [[255, 0], [0, 255]].
        let bytes = vec![0u8, 255, 51, 102, 255, 0, 0, 255];
        let unit: Vec<f32> = bytes.iter().map(|&v| to_unit_range(f32::from(v))).collect();
        let as_bytes = ImageSet::new(Pixels::Bytes(bytes), vec![0, 1], 1, 2).unwrap();
        let as_unit = ImageSet::new(Pixels::Unit(unit), vec![0, 1], 1, 2).unwrap();
        let device = Default::default();
        let take = |set: &ImageSet, flips: Option<&[bool]>| {
            set.batch::<B>(&[1, 0], flips, &device)
                .into_data()
                .to_vec::<f32>()
                .unwrap()
        };
        assert_eq!(take(&as_bytes, None), take(&as_unit, None));
        let flipped = take(&as_bytes, Some(&[false, true]));
        assert_eq!(
            flipped,
            vec![
                1.0,
                -1.0,
                -1.0,
                1.0,
                1.0,
                -1.0,
                to_unit_range(102.0),
                to_unit_range(51.0)
            ]
        );
        assert_eq!(as_bytes.unit_pixels(), as_unit.unit_pixels());
    }

    #[test]
    fn pixel_count_must_match_the_labels() {
        assert!(ImageSet::new(Pixels::Bytes(vec![0; 7]), vec![0, 1], 1, 2).is_err());
    }
}
