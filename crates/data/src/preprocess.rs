//! What every image goes through before the critic sees it: alpha flattened, converted to
//! the model's channels, centre-cropped or stretched, resized, and stored as bytes.

use image::DynamicImage;
use serde::{Deserialize, Serialize};

use crate::DataError;
use crate::resize::{Window, resize_plane};

/// How an image that is not square becomes square.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResizeMode {
    /// Cut out the centred square of the short side's length, then resize it (the same
    /// picture as resizing the short side and cropping the centre).
    #[default]
    CenterCrop,
    /// Resize width and height independently to the target, distorting the aspect ratio.
    Stretch,
}

/// What transparent pixels are composited onto.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlphaBackground {
    /// Value 0.
    #[default]
    Black,
    /// Value 255.
    White,
}

impl AlphaBackground {
    fn value(self) -> f32 {
        match self {
            AlphaBackground::Black => 0.0,
            AlphaBackground::White => 255.0,
        }
    }
}

/// The preprocessing settings: target size and channels, the square rule and the alpha
/// background.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Preprocessing {
    /// Output side in pixels (`model.image_size`).
    pub size: usize,
    /// Output channels (`model.channels`): 1 (gray) or 3 (RGB).
    pub channels: usize,
    /// Centre-crop or stretch.
    pub resize: ResizeMode,
    /// Background for transparent pixels.
    pub background: AlphaBackground,
}

impl Preprocessing {
    /// `size × size` images of `channels`, centre-cropped, alpha on black (the defaults).
    pub fn new(size: usize, channels: usize) -> Self {
        Self {
            size,
            channels,
            resize: ResizeMode::CenterCrop,
            background: AlphaBackground::Black,
        }
    }

    /// Refuses channel counts no image can be converted to, and a zero size.
    pub fn check(&self) -> Result<(), DataError> {
        if !matches!(self.channels, 1 | 3) {
            return Err(DataError::Channels {
                requested: self.channels,
            });
        }
        if self.size == 0 {
            return Err(DataError::Setting {
                field: "model.image_size",
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }

    /// Bytes per preprocessed image: `channels · size · size`.
    pub fn image_len(&self) -> usize {
        self.channels * self.size * self.size
    }
}

/// How the planes of a decoded image are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaneLayout {
    /// One luminance plane.
    Gray,
    /// Luminance and alpha.
    GrayAlpha,
    /// Red, green, blue.
    Rgb,
    /// Red, green, blue and alpha.
    Rgba,
}

impl PlaneLayout {
    /// Planes in this layout.
    pub fn planes(self) -> usize {
        match self {
            PlaneLayout::Gray => 1,
            PlaneLayout::GrayAlpha => 2,
            PlaneLayout::Rgb => 3,
            PlaneLayout::Rgba => 4,
        }
    }

    /// The layout of an image with `channels` interleaved or planar channels, if any.
    pub fn from_channels(channels: usize) -> Option<Self> {
        match channels {
            1 => Some(PlaneLayout::Gray),
            2 => Some(PlaneLayout::GrayAlpha),
            3 => Some(PlaneLayout::Rgb),
            4 => Some(PlaneLayout::Rgba),
            _ => None,
        }
    }

    /// A short name for reports: `gray`, `gray+alpha`, `rgb`, `rgba`.
    pub fn name(self) -> &'static str {
        match self {
            PlaneLayout::Gray => "gray",
            PlaneLayout::GrayAlpha => "gray+alpha",
            PlaneLayout::Rgb => "rgb",
            PlaneLayout::Rgba => "rgba",
        }
    }
}

/// A decoded image as planar values in [0, 255].
#[derive(Debug, Clone, PartialEq)]
pub struct Planes {
    /// How to read the planes.
    pub layout: PlaneLayout,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// `[layout.planes(), height, width]` row-major.
    pub values: Vec<f32>,
}

impl Planes {
    /// Planes from interleaved samples (`[height, width, planes]`, as image files store them).
    pub fn from_interleaved(
        layout: PlaneLayout,
        height: usize,
        width: usize,
        samples: impl Iterator<Item = f32>,
    ) -> Self {
        let planes = layout.planes();
        let plane_len = height * width;
        let mut values = vec![0.0f32; planes * plane_len];
        for (index, sample) in samples.take(planes * plane_len).enumerate() {
            values[(index % planes) * plane_len + index / planes] = sample;
        }
        Self {
            layout,
            height,
            width,
            values,
        }
    }

    /// The planes of a decoded image; 16-bit and float images are scaled to [0, 255].
    pub fn from_image(image: &DynamicImage) -> Self {
        let (height, width) = (image.height() as usize, image.width() as usize);
        let bytes =
            |raw: &[u8], layout| Self::from_interleaved(layout, height, width, raw.iter().map(|&v| f32::from(v)));
        let floats =
            |raw: &[f32], layout| Self::from_interleaved(layout, height, width, raw.iter().map(|&v| v * 255.0));
        match image {
            DynamicImage::ImageLuma8(b) => bytes(b.as_raw(), PlaneLayout::Gray),
            DynamicImage::ImageLumaA8(b) => bytes(b.as_raw(), PlaneLayout::GrayAlpha),
            DynamicImage::ImageRgb8(b) => bytes(b.as_raw(), PlaneLayout::Rgb),
            DynamicImage::ImageRgba8(b) => bytes(b.as_raw(), PlaneLayout::Rgba),
            other => match (other.color().has_color(), other.color().has_alpha()) {
                (true, true) => floats(other.to_rgba32f().as_raw(), PlaneLayout::Rgba),
                (true, false) => floats(other.to_rgb32f().as_raw(), PlaneLayout::Rgb),
                (false, true) => floats(other.to_luma_alpha32f().as_raw(), PlaneLayout::GrayAlpha),
                (false, false) => floats(other.to_luma32f().as_raw(), PlaneLayout::Gray),
            },
        }
    }

    /// Preprocesses into `out` (`[prep.channels, prep.size, prep.size]` bytes): alpha
    /// composited onto the background, gray replicated to RGB or RGB reduced to gray by
    /// ITU-R BT.601 luma (`0.299 R + 0.587 G + 0.114 B`, PIL's `convert("L")`), then cropped
    /// or stretched and resized with the triangle filter, rounded to the nearest byte.
    pub fn preprocess_into(&self, prep: &Preprocessing, out: &mut [u8]) {
        let colour = self.to_channels(prep.channels, prep.background);
        let plane_len = self.height * self.width;
        let window = match prep.resize {
            ResizeMode::CenterCrop => Window::centre_square(self.height, self.width),
            ResizeMode::Stretch => Window::whole(self.height, self.width),
        };
        let out_len = prep.size * prep.size;
        for (plane, target) in colour.chunks_exact(plane_len).zip(out.chunks_exact_mut(out_len)) {
            let resized = resize_plane(plane, self.width, window, prep.size, prep.size);
            for (byte, value) in target.iter_mut().zip(resized) {
                *byte = value.round().clamp(0.0, 255.0) as u8;
            }
        }
    }

    /// `[channels, height, width]` values in [0, 255] with alpha flattened.
    fn to_channels(&self, channels: usize, background: AlphaBackground) -> Vec<f32> {
        let plane_len = self.height * self.width;
        let plane = |index: usize| &self.values[index * plane_len..(index + 1) * plane_len];
        let flatten = |colour: &[f32], alpha: &[f32]| -> Vec<f32> {
            let back = background.value();
            colour
                .iter()
                .zip(alpha)
                .map(|(&c, &a)| {
                    let a = a / 255.0;
                    c * a + back * (1.0 - a)
                })
                .collect()
        };
        let (colour_planes, alpha): (usize, Option<&[f32]>) = match self.layout {
            PlaneLayout::Gray => (1, None),
            PlaneLayout::GrayAlpha => (1, Some(plane(1))),
            PlaneLayout::Rgb => (3, None),
            PlaneLayout::Rgba => (3, Some(plane(3))),
        };
        let colour: Vec<Vec<f32>> = (0..colour_planes)
            .map(|index| match alpha {
                Some(alpha) => flatten(plane(index), alpha),
                None => plane(index).to_vec(),
            })
            .collect();
        match (colour.len(), channels) {
            (1, 3) => colour[0].repeat(3),
            (3, 1) => colour[0]
                .iter()
                .zip(&colour[1])
                .zip(&colour[2])
                .map(|((r, g), b)| 0.299 * r + 0.587 * g + 0.114 * b)
                .collect(),
            _ => colour.concat(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prep(size: usize, channels: usize) -> Preprocessing {
        Preprocessing {
            size,
            channels,
            resize: ResizeMode::CenterCrop,
            background: AlphaBackground::White,
        }
    }

    fn run(planes: &Planes, prep: &Preprocessing) -> Vec<u8> {
        let mut out = vec![0u8; prep.image_len()];
        planes.preprocess_into(prep, &mut out);
        out
    }

    #[test]
    fn interleaved_samples_become_planes() {
        let planes = Planes::from_interleaved(PlaneLayout::Rgb, 1, 2, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0].into_iter());
        assert_eq!(planes.values, vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    }

    #[test]
    fn gray_to_rgb_replicates_and_rgb_to_gray_uses_bt601() {
        let gray = Planes::from_interleaved(PlaneLayout::Gray, 1, 1, [90.0].into_iter());
        assert_eq!(run(&gray, &prep(1, 3)), vec![90, 90, 90]);
        let red = Planes::from_interleaved(PlaneLayout::Rgb, 1, 1, [200.0, 100.0, 50.0].into_iter());
        // 0.299·200 + 0.587·100 + 0.114·50 = 124.2
        assert_eq!(run(&red, &prep(1, 1)), vec![124]);
    }

    #[test]
    fn alpha_is_flattened_onto_the_stated_background() {
        // Half-transparent black on white gives mid grey; opaque keeps the colour.
        let rgba = Planes::from_interleaved(
            PlaneLayout::Rgba,
            1,
            2,
            [0.0, 0.0, 0.0, 127.5, 10.0, 20.0, 30.0, 255.0].into_iter(),
        );
        let mut white = prep(2, 3);
        white.resize = ResizeMode::Stretch;
        let out = run(&rgba, &Preprocessing { size: 2, ..white });
        // Stretching 1×2 to 2×2 repeats the row: columns stay [flattened, opaque].
        assert_eq!(&out[0..2], &[128, 10]);
        assert_eq!(&out[4..6], &[128, 20]);
        let black = Preprocessing {
            background: AlphaBackground::Black,
            ..white
        };
        assert_eq!(&run(&rgba, &black)[0..2], &[0, 10]);
    }

    #[test]
    fn centre_crop_keeps_the_middle_and_stretch_keeps_everything() {
        // A 1×3 row: dark, bright, dark. The centre crop is the bright pixel alone.
        let row = Planes::from_interleaved(PlaneLayout::Gray, 1, 3, [0.0, 255.0, 0.0].into_iter());
        assert_eq!(run(&row, &prep(1, 1)), vec![255]);
        let stretched = Preprocessing {
            resize: ResizeMode::Stretch,
            ..prep(1, 1)
        };
        // Triangle weights 2/3, 1, 2/3 over the row: 255 · 1 / (7/3) = 109.3.
        assert_eq!(run(&row, &stretched), vec![109]);
    }

    #[test]
    fn only_one_or_three_channels() {
        assert!(prep(8, 4).check().is_err());
        assert!(prep(8, 2).check().is_err());
        assert!(prep(8, 3).check().is_ok());
    }
}
