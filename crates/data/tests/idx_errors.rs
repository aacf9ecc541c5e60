//! Every malformed IDX input is an error that names the file and says what is wrong.

mod common;

use std::path::{Path, PathBuf};

use common::{gzip, idx_bytes, image_pair};
use wgan_data::{DataError, DatasetFiles, load_image_set, read_idx_images, read_idx_labels};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn image_error(bytes: &[u8]) -> (PathBuf, DataError) {
    let dir = tempfile::tempdir().unwrap().keep();
    let path = write(&dir, "images.idx", bytes);
    let err = read_idx_images(&path).unwrap_err();
    (path, err)
}

fn assert_names_file(path: &Path, err: &DataError) {
    let message = err.to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "no file name in: {message}"
    );
}

#[test]
fn raw_and_gzipped_files_decode_identically() {
    let dir = tempfile::tempdir().unwrap();
    let (images, labels) = image_pair(3, 4, 5);
    let raw = read_idx_images(&write(dir.path(), "a", &images)).unwrap();
    let gz = read_idx_images(&write(dir.path(), "a.gz", &gzip(&images))).unwrap();
    assert_eq!(raw, gz);
    assert_eq!((raw.count, raw.rows, raw.columns, raw.pixels.len()), (3, 4, 5, 60));
    assert_eq!(raw.pixels[20], 7, "image 1 starts at 1·7");
    let labels = read_idx_labels(&write(dir.path(), "l.gz", &gzip(&labels))).unwrap();
    assert_eq!(labels.labels, vec![0, 1, 2]);
}

#[test]
fn wrong_magic_number() {
    let (_, labels) = image_pair(3, 4, 5);
    let (path, err) = image_error(&labels);
    assert!(
        matches!(
            err,
            DataError::BadMagic {
                found: 2049,
                expected: 2051,
                ..
            }
        ),
        "{err}"
    );
    assert_names_file(&path, &err);
}

#[test]
fn truncated_payload() {
    let (images, _) = image_pair(3, 4, 5);
    let (path, err) = image_error(&images[..images.len() - 1]);
    assert!(
        matches!(
            err,
            DataError::PayloadLength {
                expected: 60,
                actual: 59,
                ..
            }
        ),
        "{err}"
    );
    assert_names_file(&path, &err);
}

#[test]
fn trailing_bytes_after_payload() {
    let (mut images, _) = image_pair(3, 4, 5);
    images.push(0);
    let (_, err) = image_error(&images);
    assert!(
        matches!(
            err,
            DataError::PayloadLength {
                expected: 60,
                actual: 61,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn truncated_gzip_stream() {
    let (images, _) = image_pair(30, 28, 28);
    let compressed = gzip(&images);
    let (path, err) = image_error(&compressed[..compressed.len() / 2]);
    assert!(matches!(err, DataError::Gzip { .. }), "{err}");
    assert_names_file(&path, &err);
}

#[test]
fn truncated_header() {
    let (path, err) = image_error(&idx_bytes(2051, &[3], &[]));
    assert!(matches!(err, DataError::BadHeader { .. }), "{err}");
    assert_names_file(&path, &err);
}

#[test]
fn zero_dimension() {
    let (_, err) = image_error(&idx_bytes(2051, &[3, 0, 5], &[]));
    assert!(err.to_string().contains("zero dimension"), "{err}");
}

#[test]
fn empty_file() {
    let (path, err) = image_error(&[]);
    assert!(matches!(err, DataError::Empty { .. }), "{err}");
    assert_names_file(&path, &err);
}

#[test]
fn missing_file() {
    let path = PathBuf::from("/nonexistent/train-images-idx3-ubyte.gz");
    let err = read_idx_images(&path).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err}");
    assert_names_file(&path, &err);
}

#[test]
fn directory_instead_of_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = read_idx_images(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::IsDirectory { .. }), "{err}");
    assert_names_file(dir.path(), &err);
}

#[test]
fn wrong_image_size_for_fashion_mnist() {
    let dir = tempfile::tempdir().unwrap();
    let (images, labels) = image_pair(3, 27, 28);
    let files = DatasetFiles {
        images: write(dir.path(), "i", &images),
        labels: write(dir.path(), "l", &labels),
    };
    let err = load_image_set(&files, Some([28, 28]), 32).unwrap_err();
    assert!(matches!(err, DataError::ImageSize { actual: [27, 28], .. }), "{err}");
    assert_names_file(&files.images, &err);
}

#[test]
fn image_and_label_counts_disagree() {
    let dir = tempfile::tempdir().unwrap();
    let (images, _) = image_pair(3, 28, 28);
    let (_, labels) = image_pair(4, 28, 28);
    let files = DatasetFiles {
        images: write(dir.path(), "i", &images),
        labels: write(dir.path(), "l", &labels),
    };
    let err = load_image_set(&files, Some([28, 28]), 32).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                images: 3,
                labels: 4,
                ..
            }
        ),
        "{err}"
    );
    assert_names_file(&files.labels, &err);
}
