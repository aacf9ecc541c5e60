//! The shipped reference classifier: its bytes are the pinned ones, and on the real data it
//! has the test accuracy and gives the real-data FD-FMNIST that the README quotes. The
//! real-data checks skip, saying so, without the Debian package's files.

mod common;

use std::path::PathBuf;

use burn::backend::Flex;
use common::real_train_and_test;
use sha2::{Digest, Sha256};
use wgan_eval::{ClassifierSource, QualityMeter, REFERENCE_CLASSIFIER_SHA256, accuracy, load_classifier};

/// Test accuracy of the reference classifier, as quoted in the README.
const REFERENCE_ACCURACY: f64 = 0.9149;
/// FD-FMNIST of the first 10 000 training images against the test set, as quoted.
const REAL_DATA_FD: f64 = 0.1918;

#[test]
fn the_shipped_file_is_the_pinned_reference() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets/fd-fmnist/classifier.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let digest: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(digest, REFERENCE_CLASSIFIER_SHA256);
    let loaded = load_classifier::<Flex>(&ClassifierSource::Reference, &Default::default()).unwrap();
    assert!(loaded.info.is_reference);
    // The file on disk loads as the same classifier, and one changed byte is no longer it.
    let from_file = load_classifier::<Flex>(&ClassifierSource::File(path), &Default::default()).unwrap();
    assert!(from_file.info.is_reference);
    let dir = tempfile::tempdir().unwrap();
    let mut changed = bytes.clone();
    let last = changed.len() - 1;
    changed[last] ^= 1;
    let copy = dir.path().join("changed.safetensors");
    std::fs::write(&copy, changed).unwrap();
    let other = load_classifier::<Flex>(&ClassifierSource::File(copy), &Default::default()).unwrap();
    assert!(!other.info.is_reference);
}

#[test]
fn the_reference_has_its_quoted_accuracy_and_real_data_fd() {
    let Some((train, test)) = real_train_and_test() else {
        return;
    };
    let device = Default::default();
    let loaded = load_classifier::<Flex>(&ClassifierSource::Reference, &device).unwrap();
    let measured = accuracy(&loaded.classifier, &test, &device);
    assert!((measured - REFERENCE_ACCURACY).abs() < 1e-4, "test accuracy {measured}");
    assert!(
        (loaded.info.test_accuracy - measured).abs() < 1e-9,
        "recorded {}",
        loaded.info.test_accuracy
    );
    let meter = QualityMeter::new(loaded.classifier, loaded.info.config.feature_dim, &test, &device).unwrap();
    let quality = meter.measure_images(&train.unit_range(0..10_000)).unwrap();
    println!("reference: accuracy {measured:.4}, real-data {quality:?}");
    assert!(
        (quality.fd_fmnist - REAL_DATA_FD).abs() < 1e-3,
        "FD {}",
        quality.fd_fmnist
    );
    assert!(quality.kid.mean.abs() < 0.01, "{quality:?}");
    assert!(
        quality.precision_recall.precision > 0.6 && quality.precision_recall.recall > 0.6,
        "{quality:?}"
    );
}
