//! `wgan eval` and its NumPy twin, `scripts/fmnist_metrics.py`, agree on the same images:
//! the features themselves, FD-FMNIST, IS and KID to about 1e-4, precision and recall to a
//! couple of boundary points.
//!
//! Needs the real Fashion-MNIST test set (the reference) and a Python with NumPy:
//! `WGAN_NUMPY_PYTHON`, which `.ci/run` sets to its virtual environment, else the Python of
//! `.venv-tensorboard/` in the repository. Without either, the test is skipped with a message.

mod common;

use std::path::{Path, PathBuf};

use common::{stderr_with_code, wgan};

fn numpy_python() -> Option<PathBuf> {
    if let Some(python) = std::env::var_os("WGAN_NUMPY_PYTHON") {
        return Some(PathBuf::from(python));
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-tensorboard/bin/python");
    local.is_file().then_some(local)
}

const FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// `count` deterministic 32×32 images in [-1, 1]: smooth blobs of varying size and place, so
/// that the features are spread out and every metric is far from its extreme.
fn images(count: usize) -> Vec<f32> {
    let mut pixels = Vec::with_capacity(count * 1024);
    for i in 0..count {
        let (cx, cy) = (8.0 + (i * 7 % 17) as f32, 8.0 + (i * 11 % 15) as f32);
        let radius = 4.0 + (i % 9) as f32;
        let stripes = (i % 5) as f32 * 0.4;
        for y in 0..32 {
            for x in 0..32 {
                let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt() / radius;
                let value = (-d * d).exp() * (1.0 + 0.3 * (stripes * x as f32).sin());
                pixels.push((2.0 * value - 1.0).clamp(-1.0, 1.0));
            }
        }
    }
    pixels
}

fn relative(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-12)
}

#[test]
fn rust_and_numpy_metrics_agree_on_the_same_images() {
    let Some(python) = numpy_python() else {
        eprintln!("SKIPPED: no Python with NumPy (set WGAN_NUMPY_PYTHON, or make .venv-tensorboard/ as .ci/run does)");
        return;
    };
    if !Path::new(FASHION_MNIST).join("t10k-images-idx3-ubyte.gz").is_file() {
        eprintln!("SKIPPED: no Fashion-MNIST test set in {FASHION_MNIST} (apt-get install dataset-fashion-mnist)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let samples = dir.path().join("samples.npy");
    let count = 2000;
    wgan_train::write_npy(&samples, &images(count), &[count as u64, 1, 32, 32]).unwrap();
    let (rust_features, numpy_features) = (dir.path().join("rust.npy"), dir.path().join("numpy.npy"));

    let output = wgan(&[
        "eval",
        "--images",
        samples.to_str().unwrap(),
        "--data",
        FASHION_MNIST,
        "--save-features",
        rust_features.to_str().unwrap(),
        "--json",
        "--device",
        "cpu",
    ]);
    stderr_with_code(&output, 0);
    let rust: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(rust["reference_classifier"], true, "{rust}");

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/fmnist_metrics.py");
    let output = std::process::Command::new(&python)
        .arg(&script)
        .arg(&samples)
        .args(["--fmnist", FASHION_MNIST, "--json", "--features-out"])
        .arg(&numpy_features)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let numpy: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();

    // The features, element by element, relative to the largest feature.
    let (a, shape_a) = wgan_train::read_npy(&rust_features).unwrap();
    let (b, shape_b) = wgan_train::read_npy(&numpy_features).unwrap();
    assert_eq!(shape_a, vec![count as u64, 256]);
    assert_eq!(shape_a, shape_b);
    let scale = a.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(
        worst <= 1e-4 * scale,
        "features differ by {worst} (largest feature {scale})"
    );

    for key in ["fd_fmnist", "inception_score", "kid"] {
        let (x, y) = (rust[key].as_f64().unwrap(), numpy[key].as_f64().unwrap());
        assert!(relative(x, y) < 1e-4, "{key}: wgan {x}, NumPy {y}");
    }
    for key in ["kid_subsets", "kid_subset_size", "samples"] {
        assert_eq!(rust[key], numpy[key], "{key}");
    }
    // A point exactly on a ball's boundary can fall either way under different rounding.
    for key in ["precision", "recall"] {
        let (x, y) = (rust[key].as_f64().unwrap(), numpy[key].as_f64().unwrap());
        assert!((x - y).abs() <= 2.0 / count as f64, "{key}: wgan {x}, NumPy {y}");
    }
    assert!(rust["fd_fmnist"].as_f64().unwrap() > 1.0, "{rust}");
}
