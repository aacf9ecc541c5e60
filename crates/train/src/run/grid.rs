//! Sample grids: a batch of images tiled into one PNG.

use std::path::Path;

use image::imageops::FilterType;
use image::{DynamicImage, GrayImage, ImageBuffer, ImageFormat, Luma, Rgb, RgbImage};

use crate::TrainError;

/// Pixels between tiles and around the grid.
pub const GRID_BORDER: usize = 2;
/// Value of the border pixels (mid grey, distinct from Fashion-MNIST's black background).
const BORDER_VALUE: u8 = 128;

/// Maps a value in [-1, 1] to a byte, clamping outliers.
fn to_byte(value: f32) -> u8 {
    (((value.clamp(-1.0, 1.0) + 1.0) * 127.5).round()) as u8
}

/// A tiled sample grid in memory.
#[derive(Debug, Clone)]
pub struct Grid {
    image: DynamicImage,
}

impl Grid {
    /// Tiles `count` images into a grid with `columns` tiles per row and a [`GRID_BORDER`]-pixel
    /// border, every pixel then repeated `scale × scale` times (nearest neighbour, so a
    /// 32×32 sample stays sharp when enlarged); gray for 1 channel, RGB for 3.
    ///
    /// # Shapes
    /// - `pixels`: `[count, channels, size, size]` row-major, values in [-1, 1]
    pub fn tile(pixels: &[f32], channels: usize, size: usize, columns: usize, scale: u32) -> Result<Self, TrainError> {
        let image_len = channels * size * size;
        let count = pixels.len() / image_len.max(1);
        let columns = columns.max(1);
        let rows = count.div_ceil(columns);
        let width = (columns * (size + GRID_BORDER) + GRID_BORDER) as u32;
        let height = (rows * (size + GRID_BORDER) + GRID_BORDER) as u32;
        let origin = |index: usize| {
            let (row, column) = (index / columns, index % columns);
            (
                (GRID_BORDER + column * (size + GRID_BORDER)) as u32,
                (GRID_BORDER + row * (size + GRID_BORDER)) as u32,
            )
        };
        let plane = size * size;
        let image = match channels {
            1 => {
                let mut grid: GrayImage = ImageBuffer::from_pixel(width, height, Luma([BORDER_VALUE]));
                for (index, image) in pixels.chunks_exact(image_len).enumerate() {
                    let (x0, y0) = origin(index);
                    for (offset, &value) in image.iter().enumerate() {
                        let (y, x) = ((offset / size) as u32, (offset % size) as u32);
                        grid.put_pixel(x0 + x, y0 + y, Luma([to_byte(value)]));
                    }
                }
                DynamicImage::ImageLuma8(grid)
            }
            3 => {
                let mut grid: RgbImage = ImageBuffer::from_pixel(width, height, Rgb([BORDER_VALUE; 3]));
                for (index, image) in pixels.chunks_exact(image_len).enumerate() {
                    let (x0, y0) = origin(index);
                    for offset in 0..plane {
                        let (y, x) = ((offset / size) as u32, (offset % size) as u32);
                        let rgb = [0, 1, 2].map(|c| to_byte(image[c * plane + offset]));
                        grid.put_pixel(x0 + x, y0 + y, Rgb(rgb));
                    }
                }
                DynamicImage::ImageRgb8(grid)
            }
            other => return Err(TrainError::GridChannels { channels: other }),
        };
        let scale = scale.max(1);
        let image = if scale == 1 {
            image
        } else {
            image.resize_exact(width * scale, height * scale, FilterType::Nearest)
        };
        Ok(Self { image })
    }

    /// `[width, height]` in pixels.
    pub fn size(&self) -> [u32; 2] {
        [self.image.width(), self.image.height()]
    }

    /// 1 (gray) or 3 (RGB).
    pub fn channels(&self) -> u32 {
        u32::from(self.image.color().channel_count())
    }

    /// The grid encoded as PNG.
    pub fn png(&self) -> Result<Vec<u8>, image::ImageError> {
        let mut bytes = std::io::Cursor::new(Vec::new());
        self.image.write_to(&mut bytes, ImageFormat::Png)?;
        Ok(bytes.into_inner())
    }

    /// Writes the grid as PNG to `path`.
    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        self.image
            .save_with_format(path, ImageFormat::Png)
            .map_err(|error| TrainError::Image {
                path: path.to_path_buf(),
                error,
            })
    }
}

/// Tiles a grid ([`Grid::tile`], `scale` 1) and writes it as PNG to `path`.
///
/// # Shapes
/// - `pixels`: `[count, channels, size, size]` row-major, values in [-1, 1]
pub fn write_grid(path: &Path, pixels: &[f32], channels: usize, size: usize, columns: usize) -> Result<(), TrainError> {
    Grid::tile(pixels, channels, size, columns, 1)?.save(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_has_borders_and_tiles_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grid.png");
        // 4 images of 3×3: image i is filled with -1 + i·(2/3).
        let pixels: Vec<f32> = (0..4).flat_map(|i| vec![-1.0 + i as f32 * 2.0 / 3.0; 9]).collect();
        write_grid(&path, &pixels, 1, 3, 2).unwrap();
        let grid = image::open(&path).unwrap().to_luma8();
        assert_eq!(grid.dimensions(), (2 * 5 + 2, 2 * 5 + 2));
        assert_eq!(grid.get_pixel(0, 0).0, [BORDER_VALUE]);
        assert_eq!(grid.get_pixel(2, 2).0, [0], "image 0 is black");
        assert_eq!(grid.get_pixel(7, 7).0, [255], "image 3 (bottom right) is white");
        assert_eq!(grid.get_pixel(7, 2).0, [85], "image 1 is -1/3");
    }

    #[test]
    fn a_scaled_grid_repeats_every_pixel() {
        let pixels: Vec<f32> = (0..4).flat_map(|i| vec![-1.0 + i as f32 * 2.0 / 3.0; 9]).collect();
        let plain = Grid::tile(&pixels, 1, 3, 2, 1).unwrap();
        let scaled = Grid::tile(&pixels, 1, 3, 2, 3).unwrap();
        assert_eq!(scaled.size(), [36, 36]);
        let (plain, scaled) = (plain.image.to_luma8(), scaled.image.to_luma8());
        for (x, y, pixel) in scaled.enumerate_pixels() {
            assert_eq!(pixel, plain.get_pixel(x / 3, y / 3), "({x}, {y})");
        }
        let png = Grid::tile(&pixels, 1, 3, 2, 1).unwrap().png().unwrap();
        assert_eq!(image::load_from_memory(&png).unwrap().to_luma8(), plain);
    }
}
