//! A training step waits for the device once: its critic steps and its generator step read
//! nothing back, and the whole step's metrics (and the NaN check) come back in one read.
//!
//! Two checks, because a read can be added in two ways: through the engine's counted read
//! ([`Engine::host_reads`] counts it), or by a new `into_data`-like call anywhere on the step's
//! path (the source scan finds it).

mod common;

use std::path::{Path, PathBuf};

use burn::backend::{Autodiff, Flex};
use common::{distinct_images, small_config};
use wgan_model::Variant;
use wgan_train::{EmaConfig, Engine};

type Ad = Autodiff<Flex>;

#[test]
fn a_generator_step_reads_the_device_once() {
    for variant in [Variant::WganGp, Variant::Wgan] {
        let mut config = small_config(variant, 11, 8, 16, 8);
        config.ema = Some(EmaConfig::default());
        let mut engine = Engine::<Ad>::new(config, distinct_images(), Default::default()).unwrap();
        engine.critic_step().unwrap();
        engine.generator_step().unwrap();
        assert_eq!(
            engine.host_reads(),
            0,
            "{variant:?}: a critic or generator step read the device"
        );
        for step in 1..=3 {
            engine.train_step().unwrap();
            assert_eq!(
                engine.host_reads(),
                step,
                "{variant:?}: reads after {step} generator steps"
            );
        }
    }
}

/// Tensor methods that copy a tensor's values from the device to the host.
const HOST_READS: [&str; 6] = [
    "into_data",
    "to_data",
    "into_scalar",
    "into_data_async",
    "to_data_async",
    "into_scalar_async",
];

/// The code a training step runs: the engine, the networks and their kernels.
const STEP_SOURCES: [&str; 3] = ["src/engine", "../model/src", "../ops/src"];

#[test]
fn the_step_path_reads_the_device_only_through_the_counted_read() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut reads = Vec::new();
    for folder in STEP_SOURCES {
        for file in rust_files(&root.join(folder)) {
            let text = std::fs::read_to_string(&file).unwrap();
            // Unit tests may read what they like.
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (number, line) in code.lines().enumerate() {
                let code_part = line.split("//").next().unwrap_or_default();
                if HOST_READS.iter().any(|read| code_part.contains(&format!(".{read}("))) {
                    reads.push(format!("{}:{}: {}", file.display(), number + 1, line.trim()));
                }
            }
        }
    }
    assert_eq!(
        reads.len(),
        1,
        "the training step must read the device only in Engine::read_to_host; reads found:\n{}",
        reads.join("\n")
    );
    assert!(
        reads[0].contains("engine/step.rs"),
        "the one read is not the counted one: {}",
        reads[0]
    );
}

fn rust_files(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}
