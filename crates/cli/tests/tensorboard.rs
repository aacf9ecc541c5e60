//! TensorBoard's own reader on a real run: a `wgan train` process SIGKILLed after logging
//! past its checkpoint, then resumed, shows every step once, with the scalars of
//! `metrics.jsonl`, the sample grids at their size, the config and the hyperparameters.
//!
//! The reader is the `tensorboard` package (`EventAccumulator`, in
//! `scripts/check_tensorboard.py`), run by the Python in `WGAN_TENSORBOARD_PYTHON`, which
//! `.ci/run` sets to its virtual environment; without it, the Python of
//! `.venv-tensorboard/` in the repository, if there is one; otherwise the test is skipped
//! with a message. When `WGAN_TENSORBOARD_PYTHON` is set, a missing reader is a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{losses, smoke_train_args, wait_for_steps, wgan, with_training_data};

/// The Python with `tensorboard`, and whether it was asked for explicitly.
fn tensorboard_python() -> Option<(PathBuf, bool)> {
    if let Some(python) = std::env::var_os("WGAN_TENSORBOARD_PYTHON") {
        return Some((PathBuf::from(python), true));
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-tensorboard/bin/python");
    local.is_file().then_some((local, false))
}

#[test]
fn tensorboard_reads_a_killed_and_resumed_run_without_duplicate_steps() {
    let Some((python, required)) = tensorboard_python() else {
        eprintln!(
            "SKIPPED: no Python with tensorboard (set WGAN_TENSORBOARD_PYTHON, or make .venv-tensorboard/ as .ci/run does)"
        );
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/check_tensorboard.py");
    let available = Command::new(&python)
        .args(["-c", "import tensorboard"])
        .status()
        .is_ok_and(|status| status.success());
    if !available {
        assert!(
            !required,
            "WGAN_TENSORBOARD_PYTHON={} cannot import tensorboard",
            python.display()
        );
        eprintln!("SKIPPED: {} cannot import tensorboard", python.display());
        return;
    }

    let (dir, data) = with_training_data();
    let run = dir.path().join("run");
    let mut child = common::binary()
        .command()
        .args(smoke_train_args(&run, &data))
        .args([
            "--set",
            "schedule.checkpoint_interval=4",
            "--set",
            "schedule.sample_interval=3",
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed once steps past the checkpoint at 8 are logged: they are in the event file.
    wait_for_steps(&run, 10);
    child.kill().unwrap();
    child.wait().unwrap();
    let logged = losses(&run).len();
    assert!(logged < 30, "killed before the end ({logged} steps logged)");

    let output = wgan(&["train", "--resume", run.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(losses(&run).len(), 30);

    // 8×8 tiles of 32 px with a 2 px border.
    let check = Command::new(&python)
        .arg(&script)
        .arg(&run)
        .args(["--grid-size", &(8 * 34 + 2).to_string()])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr),
    );
    assert!(check.status.success(), "TensorBoard's reader: {stderr}{stdout}");
    let seen: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    eprintln!("TensorBoard saw: {seen}");
    assert_eq!(seen["steps"], 30);
    assert_eq!(seen["grids"], serde_json::json!([3, 6, 9, 12, 15, 18, 21, 24, 27, 30]));
    assert_eq!(seen["finished"], true);
    let event_files = std::fs::read_dir(run.join("tensorboard")).unwrap().count();
    assert_eq!(event_files, 2, "one event file per process");
}
