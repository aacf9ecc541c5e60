//! Sample grids: a batch of images tiled into one PNG.

use std::path::Path;

use image::{GrayImage, ImageBuffer, Luma, Rgb, RgbImage};

use crate::TrainError;

/// Pixels between tiles and around the grid.
pub const GRID_BORDER: usize = 2;
/// Value of the border pixels (mid grey, distinct from Fashion-MNIST's black background).
const BORDER_VALUE: u8 = 128;

/// Maps a value in [-1, 1] to a byte, clamping outliers.
fn to_byte(value: f32) -> u8 {
    (((value.clamp(-1.0, 1.0) + 1.0) * 127.5).round()) as u8
}

/// Tiles `count` images into a grid with `columns` tiles per row and a [`GRID_BORDER`]-pixel
/// border, and writes it as PNG (greyscale for 1 channel, RGB for 3).
///
/// # Shapes
/// - `pixels`: `[count, channels, size, size]` row-major, values in [-1, 1]
pub fn write_grid(path: &Path, pixels: &[f32], channels: usize, size: usize, columns: usize) -> Result<(), TrainError> {
    let image_len = channels * size * size;
    let count = pixels.len() / image_len.max(1);
    let rows = count.div_ceil(columns.max(1));
    let width = (columns * (size + GRID_BORDER) + GRID_BORDER) as u32;
    let height = (rows * (size + GRID_BORDER) + GRID_BORDER) as u32;
    let origin = |index: usize| {
        let (row, column) = (index / columns, index % columns);
        (
            GRID_BORDER + column * (size + GRID_BORDER),
            GRID_BORDER + row * (size + GRID_BORDER),
        )
    };
    let result = match channels {
        1 => {
            let mut grid: GrayImage = ImageBuffer::from_pixel(width, height, Luma([BORDER_VALUE]));
            for (index, image) in pixels.chunks_exact(image_len).enumerate() {
                let (x0, y0) = origin(index);
                for (offset, &value) in image.iter().enumerate() {
                    let (y, x) = (offset / size, offset % size);
                    grid.put_pixel((x0 + x) as u32, (y0 + y) as u32, Luma([to_byte(value)]));
                }
            }
            grid.save(path)
        }
        3 => {
            let mut grid: RgbImage = ImageBuffer::from_pixel(width, height, Rgb([BORDER_VALUE; 3]));
            let plane = size * size;
            for (index, image) in pixels.chunks_exact(image_len).enumerate() {
                let (x0, y0) = origin(index);
                for offset in 0..plane {
                    let (y, x) = (offset / size, offset % size);
                    let rgb = [0, 1, 2].map(|c| to_byte(image[c * plane + offset]));
                    grid.put_pixel((x0 + x) as u32, (y0 + y) as u32, Rgb(rgb));
                }
            }
            grid.save(path)
        }
        other => {
            return Err(TrainError::GridChannels { channels: other });
        }
    };
    result.map_err(|error| TrainError::Image {
        path: path.to_path_buf(),
        error,
    })
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
}
