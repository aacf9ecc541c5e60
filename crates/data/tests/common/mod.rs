//! Small IDX files for the data crate's tests, from `wgan-test-support`.

#![allow(dead_code, unused_imports)]

use std::path::{Path, PathBuf};

use wgan_test_support::idx::{Compression, Pattern};
pub use wgan_test_support::idx::{gzip, idx_bytes};

/// `count` images of `rows × columns` with pixel `(i·7 + p) mod 256`, and labels `i mod 10`.
pub fn image_pair(count: usize, rows: usize, columns: usize) -> (Vec<u8>, Vec<u8>) {
    wgan_test_support::idx::image_pair(Pattern::Ramp, count, rows, columns)
}

/// Writes a gzipped Fashion-MNIST-named pair for `prefix` (`train` or `t10k`) into `dir`.
pub fn write_split(dir: &Path, prefix: &str, count: usize) -> (PathBuf, PathBuf) {
    wgan_test_support::idx::write_split(dir, prefix, count, Pattern::Ramp, Compression::Gzip)
}
