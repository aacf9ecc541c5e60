//! Writers for small IDX files in the layout of Fashion-MNIST.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Magic number of an IDX file of unsigned bytes with three dimensions (images).
pub const IMAGES_MAGIC: u32 = 2051;
/// Magic number of an IDX file of unsigned bytes with one dimension (labels).
pub const LABELS_MAGIC: u32 = 2049;

/// What the generated images look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// Image `i`, pixel `p`: `(i·7 + p) mod 256`; every image distinct.
    Ramp,
    /// Image `i`: diagonal stripes of phase `i mod 7`, pixels 0 or 255; something to learn.
    Stripes,
}

/// Whether files are written gzipped (`NAME.gz`) or raw (`NAME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Raw IDX bytes.
    Raw,
    /// Gzipped, with `.gz` appended to the name.
    Gzip,
}

/// IDX bytes: magic, dimensions (big-endian u32), payload.
pub fn idx_bytes(magic: u32, dims: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut bytes = magic.to_be_bytes().to_vec();
    for d in dims {
        bytes.extend(d.to_be_bytes());
    }
    bytes.extend_from_slice(payload);
    bytes
}

/// `bytes` gzipped.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// `count` images of `rows × columns` in `pattern`, and labels `i mod 10`, as IDX bytes:
/// `(images, labels)`.
pub fn image_pair(pattern: Pattern, count: usize, rows: usize, columns: usize) -> (Vec<u8>, Vec<u8>) {
    let area = rows * columns;
    let pixels: Vec<u8> = (0..count * area)
        .map(|p| {
            let (image, pixel) = (p / area, p % area);
            match pattern {
                Pattern::Ramp => (image * 7 + pixel) as u8,
                Pattern::Stripes if (pixel / columns + pixel % columns + image) % 7 < 3 => 255,
                Pattern::Stripes => 0,
            }
        })
        .collect();
    let labels: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
    (
        idx_bytes(IMAGES_MAGIC, &[count as u32, rows as u32, columns as u32], &pixels),
        idx_bytes(LABELS_MAGIC, &[count as u32], &labels),
    )
}

/// Writes a Fashion-MNIST-named pair of `count` 28×28 images for `prefix` (`train` or
/// `t10k`) into `dir`, creating it: `(images path, labels path)`.
pub fn write_split(
    dir: &Path,
    prefix: &str,
    count: usize,
    pattern: Pattern,
    compression: Compression,
) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let (images, labels) = image_pair(pattern, count, 28, 28);
    let suffix = match compression {
        Compression::Raw => "",
        Compression::Gzip => ".gz",
    };
    let images_path = dir.join(format!("{prefix}-images-idx3-ubyte{suffix}"));
    let labels_path = dir.join(format!("{prefix}-labels-idx1-ubyte{suffix}"));
    let encode = |bytes: Vec<u8>| match compression {
        Compression::Raw => bytes,
        Compression::Gzip => gzip(&bytes),
    };
    std::fs::write(&images_path, encode(images)).unwrap();
    std::fs::write(&labels_path, encode(labels)).unwrap();
    (images_path, labels_path)
}
