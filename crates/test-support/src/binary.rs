//! Running the built `wgan` binary and reading what its runs wrote.
//!
//! Integration tests name the binary with `env!("CARGO_BIN_EXE_wgan")`, which only the
//! binary's own package sees; they pass it to [`Wgan::new`].

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The environment variable that `--device` falls back to.
pub const DEVICE_VARIABLE: &str = "WGAN_DEVICE";

/// The `wgan` binary under test.
#[derive(Debug, Clone)]
pub struct Wgan {
    path: PathBuf,
}

impl Wgan {
    /// The binary at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// A command running the binary, to add arguments or environment to. It computes on the
    /// CPU (`WGAN_DEVICE=cpu`) unless its arguments name another `--device`: the tests
    /// assert bit-exact results, and only the CPU gives them. On a GPU, cubecl's autotune
    /// picks kernels by timing, so bits can differ between two processes.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.path);
        command.env(DEVICE_VARIABLE, "cpu");
        command
    }

    /// Runs the binary with `args` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }
}

/// Stderr of a finished command, asserting the exit code and that nothing panicked.
pub fn stderr_with_code(output: &Output, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// A run's `metrics.jsonl` without the wall-clock fields, for comparing two runs.
pub fn losses(run: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    text.lines()
        .map(|line| {
            let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
            let fields = value.as_object_mut().unwrap();
            fields.remove("elapsed_s");
            fields.remove("steps_per_s");
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
