//! Small image folders for the data tests: gray, RGB and RGBA files of mixed sizes and
//! formats, with the clutter real folders have.

use std::path::Path;

use image::{DynamicImage, GrayAlphaImage, GrayImage, ImageFormat, LumaA, RgbImage, RgbaImage};

/// The colour layout of a generated image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// 8-bit gray.
    Gray,
    /// 8-bit gray with alpha.
    GrayAlpha,
    /// 8-bit RGB.
    Rgb,
    /// 8-bit RGB with alpha.
    Rgba,
}

/// A `width × height` image whose pixel `(x, y)` is `(x·7 + y·3 + seed) mod 256` in the first
/// channel, shifted by 85 and 170 in the others; alpha ramps along x.
pub fn pattern(width: u32, height: u32, fill: Fill, seed: u32) -> DynamicImage {
    let value = move |x: u32, y: u32, shift: u32| ((x * 7 + y * 3 + seed + shift) % 256) as u8;
    let alpha = move |x: u32| (255 * (x + 1) / width) as u8;
    match fill {
        Fill::Gray => GrayImage::from_fn(width, height, |x, y| image::Luma([value(x, y, 0)])).into(),
        Fill::GrayAlpha => GrayAlphaImage::from_fn(width, height, |x, y| LumaA([value(x, y, 0), alpha(x)])).into(),
        Fill::Rgb => RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([value(x, y, 0), value(x, y, 85), value(x, y, 170)])
        })
        .into(),
        Fill::Rgba => RgbaImage::from_fn(width, height, |x, y| {
            image::Rgba([value(x, y, 0), value(x, y, 85), value(x, y, 170), alpha(x)])
        })
        .into(),
    }
}

/// A `width × height` image of one colour.
pub fn solid(width: u32, height: u32, rgb: [u8; 3]) -> DynamicImage {
    RgbImage::from_pixel(width, height, image::Rgb(rgb)).into()
}

/// Saves `image` at `path`, creating folders, in the format its extension names.
pub fn save(image: &DynamicImage, path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let format = ImageFormat::from_path(path).unwrap();
    // JPEG has no alpha; the tests only write opaque images as JPEG.
    let image = match format {
        ImageFormat::Jpeg if image.color().has_alpha() => DynamicImage::ImageRgb8(image.to_rgb8()),
        _ => image.clone(),
    };
    image.save_with_format(path, format).unwrap();
}

/// `count` RGB images of mixed sizes (from 40×50 to 120×90) and formats in two class
/// folders, `cats/` and `dogs/`, plus a `.DS_Store`, a `Thumbs.db` and a `notes.txt`.
pub fn write_rgb_folder(dir: &Path, count: usize) {
    let sizes = [(40, 50), (64, 64), (120, 90), (77, 65)];
    let extensions = ["png", "jpg", "bmp", "webp"];
    for index in 0..count {
        let class = if index % 2 == 0 { "cats" } else { "dogs" };
        let (width, height) = sizes[index % sizes.len()];
        let extension = extensions[(index / 2) % extensions.len()];
        let image = pattern(width, height, Fill::Rgb, index as u32 * 11);
        save(&image, &dir.join(class).join(format!("{index:03}.{extension}")));
    }
    std::fs::write(dir.join(".DS_Store"), b"\0\0\0\x01Bud1").unwrap();
    std::fs::write(dir.join("cats").join("Thumbs.db"), b"not an image").unwrap();
    std::fs::write(dir.join("dogs").join("notes.txt"), b"dogs from the shelter").unwrap();
}

/// Bytes of a JPEG cut off after its first quarter: the extension is right, the data is not.
pub fn truncated_jpeg() -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(pattern(48, 48, Fill::Rgb, 5).to_rgb8())
        .write_to(&mut bytes, ImageFormat::Jpeg)
        .unwrap();
    let bytes = bytes.into_inner();
    bytes[..bytes.len() / 4].to_vec()
}

/// A PNG whose header declares `width × height` pixels but whose data is one tiny row: a
/// decompression bomb's signature. The header CRC is valid, so only a size limit stops it.
pub fn png_declaring(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    pattern(1, 1, Fill::Rgb, 0)
        .write_to(&mut bytes, ImageFormat::Png)
        .unwrap();
    let mut bytes = bytes.into_inner();
    // Signature (8) + length (4) + "IHDR" (4), then width and height, then 5 more bytes, CRC.
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32fast::hash(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}
