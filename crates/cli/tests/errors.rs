//! The error contract end to end: bad arguments exit 1, `--help` and `--version` exit 0, and
//! each cause of an error is printed once.

mod common;

use common::{stderr_with_code, wgan, write_split};

#[test]
fn bad_arguments_exit_1_and_help_and_version_exit_0() {
    for args in [
        vec!["train", "--no-such-flag"],
        vec!["train"],
        vec!["bench", "--config", "x.toml", "--steps", "many"],
        vec!["train", "--config", "x.toml", "--device", "gpu"],
        vec!["no-such-command"],
    ] {
        let stderr = stderr_with_code(&wgan(&args), 1);
        assert!(stderr.starts_with("error:"), "{args:?}: {stderr}");
    }
    let stderr = stderr_with_code(&wgan(&["train", "--no-such-flag"]), 1);
    assert!(stderr.contains("--no-such-flag"), "the flag is named: {stderr}");
    let stderr = stderr_with_code(&wgan(&["train", "--config", "x.toml", "--device", "gpu"]), 1);
    assert!(stderr.contains("unknown device"), "{stderr}");
    for args in [vec!["--help"], vec!["train", "--help"], vec!["--version"]] {
        let output = wgan(&args);
        stderr_with_code(&output, 0);
        assert!(!output.stdout.is_empty(), "{args:?} prints to stdout");
    }
}

#[test]
fn each_cause_is_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_split(&data, "train", 32);
    write_split(&data, "t10k", 32);
    let missing = dir.path().join("no-classifier");
    let output = wgan(&[
        "eval",
        "--train-images",
        "--samples",
        "10",
        "--classifier",
        missing.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--device",
        "cpu",
    ]);
    let stderr = stderr_with_code(&output, 1);
    let message = stderr
        .lines()
        .find(|line| line.starts_with("error:"))
        .unwrap_or_default();
    assert!(
        message.contains(missing.to_str().unwrap()),
        "the path is named: {stderr}"
    );
    assert_eq!(
        message.matches("(os error 2)").count(),
        1,
        "the OS error once: {message}"
    );
    assert_eq!(message.matches("No such file or directory").count(), 1, "{message}");
}

/// `wgan info --json … | head -c 0`: output into a closed pipe ends the process quietly by
/// SIGPIPE, as Unix tools do, instead of a panic and its backtrace.
#[test]
fn a_closed_output_pipe_ends_wgan_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let (reader, writer) = std::io::pipe().unwrap();
    // Closed before wgan starts, so its first write finds no reader.
    drop(reader);
    let config = common::smoke_config();
    let output = common::binary()
        .command()
        .args(["info", "--json", "--config", config.to_str().unwrap()])
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.signal(),
        Some(libc::SIGPIPE),
        "{:?}: {stderr}",
        output.status
    );
    assert!(stderr.is_empty(), "nothing on stderr: {stderr}");
}
