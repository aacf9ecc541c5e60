//! Helpers shared by the end-to-end tests of the `wgan` binary: this binary and the smoke
//! config; the fixtures themselves are in `wgan-test-support`.
#![allow(dead_code, unused_imports)]

use std::path::{Path, PathBuf};
use std::process::Output;

use wgan_test_support::binary::Wgan;
pub use wgan_test_support::binary::{losses, losses_logged, stderr_with_code, wait_for_steps};
use wgan_test_support::idx::{Compression, Pattern};

/// The binary under test.
pub fn binary() -> Wgan {
    Wgan::new(env!("CARGO_BIN_EXE_wgan"))
}

/// Runs the binary to completion.
pub fn wgan(args: &[&str]) -> Output {
    binary().run(args)
}

/// `configs/NAME`.
pub fn config(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs").join(name)
}

/// `configs/smoke.toml`.
pub fn smoke_config() -> PathBuf {
    config("smoke.toml")
}

/// `wgan train` on the smoke config into `run`, reading the IDX files in `data`.
pub fn smoke_train_args(run: &Path, data: &Path) -> Vec<String> {
    let config = smoke_config();
    [
        "train".to_string(),
        "--config".into(),
        config.display().to_string(),
        "--out".into(),
        run.display().to_string(),
        "--set".into(),
        format!("data.path={}", data.display()),
    ]
    .into()
}

/// Writes raw (uncompressed) Fashion-MNIST-named files for `prefix` (`train` or `t10k`):
/// `count` 28×28 images of diagonal stripes and their labels.
pub fn write_split(dir: &Path, prefix: &str, count: usize) {
    wgan_test_support::idx::write_split(dir, prefix, count, Pattern::Stripes, Compression::Raw);
}

/// A temporary directory with 64 generated training images in `data/`: `(tempdir, data)`.
pub fn with_training_data() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_split(&data, "train", 64);
    (dir, data)
}

/// Asserts that two runs' logs (from [`losses`]) hold the same steps, and every logged loss
/// agrees to `tolerance` relative (floor 1).
pub fn assert_losses_agree(a: &[serde_json::Value], b: &[serde_json::Value], tolerance: f64) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        for key in [
            "critic_loss",
            "generator_loss",
            "wasserstein_estimate",
            "gradient_penalty",
        ] {
            let [x, y] = [x, y].map(|line| line[key].as_f64().unwrap());
            assert!((x - y).abs() <= tolerance * (1.0 + x.abs()), "{key}: {x} vs {y}");
        }
    }
}
