//! Helpers shared by the end-to-end tests of the `wgan` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Runs the binary to completion.
pub fn wgan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wgan")).args(args).output().unwrap()
}

/// `configs/smoke.toml`.
pub fn smoke_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/smoke.toml")
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

/// Writes raw (uncompressed) Fashion-MNIST-named training files: `count` 28×28 images of
/// diagonal stripes and their labels.
pub fn write_training_files(dir: &Path, count: u32) {
    write_split(dir, ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"), count);
}

/// Writes raw IDX files named `(images, labels)` in `dir`: image `i` of `count` is 28×28
/// diagonal stripes of phase `i mod 7`, labelled `i mod 10`.
pub fn write_split(dir: &Path, (images_name, labels_name): (&str, &str), count: u32) {
    let mut images = Vec::new();
    for value in [2051u32, count, 28, 28] {
        images.extend(value.to_be_bytes());
    }
    for i in 0..count {
        images.extend((0..28 * 28u32).map(|p| if (p / 28 + p % 28 + i) % 7 < 3 { 255u8 } else { 0 }));
    }
    let mut labels = Vec::new();
    for value in [2049u32, count] {
        labels.extend(value.to_be_bytes());
    }
    labels.extend((0..count).map(|i| (i % 10) as u8));
    std::fs::write(dir.join(images_name), images).unwrap();
    std::fs::write(dir.join(labels_name), labels).unwrap();
}

/// A temporary directory with 64 generated training images in `data/`: `(tempdir, data)`.
pub fn with_training_data() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    write_training_files(&data, 64);
    (dir, data)
}

/// Metrics without the wall-clock field, for comparing two runs.
pub fn losses(run: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    text.lines()
        .map(|line| {
            let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
            value.as_object_mut().unwrap().remove("elapsed_s");
            value
        })
        .collect()
}

/// Lines in the run's metrics log (0 before it exists).
pub fn losses_logged(run: &Path) -> usize {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

/// Waits until the run has logged `steps` lines; fails after two minutes.
pub fn wait_for_steps(run: &Path, steps: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while losses_logged(run) < steps {
        assert!(Instant::now() < deadline, "run made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Stderr of a finished command, asserting the exit code and that nothing panicked.
pub fn stderr_with_code(output: &Output, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}
