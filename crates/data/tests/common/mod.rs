//! Writers for small IDX files, so tests never need the real dataset.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

/// IDX bytes: magic, dimensions, payload.
pub fn idx_bytes(magic: u32, dims: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut bytes = magic.to_be_bytes().to_vec();
    for d in dims {
        bytes.extend(d.to_be_bytes());
    }
    bytes.extend_from_slice(payload);
    bytes
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// `count` images of `rows × columns` with pixel `(i·7 + p) mod 256`, and labels `i mod 10`.
pub fn image_pair(count: usize, rows: usize, columns: usize) -> (Vec<u8>, Vec<u8>) {
    let pixels: Vec<u8> = (0..count * rows * columns)
        .map(|p| ((p / (rows * columns)) * 7 + p % (rows * columns)) as u8)
        .collect();
    let labels: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
    (
        idx_bytes(2051, &[count as u32, rows as u32, columns as u32], &pixels),
        idx_bytes(2049, &[count as u32], &labels),
    )
}

/// Writes a gzipped Fashion-MNIST-named pair for `prefix` (`train` or `t10k`) into `dir`.
pub fn write_split(dir: &Path, prefix: &str, count: usize) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let (images, labels) = image_pair(count, 28, 28);
    let images_path = dir.join(format!("{prefix}-images-idx3-ubyte.gz"));
    let labels_path = dir.join(format!("{prefix}-labels-idx1-ubyte.gz"));
    std::fs::write(&images_path, gzip(&images)).unwrap();
    std::fs::write(&labels_path, gzip(&labels)).unwrap();
    (images_path, labels_path)
}
