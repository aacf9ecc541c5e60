//! `--device` and `wgan devices`: a device that is absent is a clear error within seconds,
//! never a hang or a panic.

mod common;

use std::time::{Duration, Instant};

use common::{smoke_config, stderr_with_code, wgan};

/// Far below a hang, far above a driver probe.
const PROMPT: Duration = Duration::from_secs(30);

#[test]
fn devices_lists_the_cpu_and_says_what_else_there_is() {
    let output = wgan(&["devices"]);
    stderr_with_code(&output, 0);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.first(), Some(&"cpu (flex)"), "{stdout}");
    assert!(lines.iter().any(|line| line.starts_with("cuda")), "{stdout}");
    assert!(lines.iter().any(|line| line.starts_with("wgpu")), "{stdout}");
}

#[test]
fn bad_or_absent_devices_fail_fast_with_the_reason() {
    let listing = String::from_utf8(wgan(&["devices"]).stdout).unwrap();
    let config = smoke_config();
    let mut cases = vec![
        (
            "gpu",
            "--device gpu: unknown device; use auto, cpu, cuda[:N] or wgpu[:N]",
        ),
        ("cuda:x", "--device cuda:x: the device index must be a number"),
        ("cpu:1", "--device cpu:1: cpu takes no index"),
        ("wgpu:99", "--device wgpu:99: there are "),
    ];
    if listing.contains("cuda: no NVIDIA driver found") {
        cases.push((
            "cuda",
            "--device cuda:0: no NVIDIA driver found (libcuda.so cannot be loaded)",
        ));
    }
    for (device, expected) in cases {
        let started = Instant::now();
        let output = wgan(&["bench", "--config", config.to_str().unwrap(), "--device", device]);
        let stderr = stderr_with_code(&output, 1);
        assert!(stderr.contains(expected), "{device}: {stderr}");
        assert!(started.elapsed() < PROMPT, "{device} took {:?}", started.elapsed());
    }
}

#[test]
fn auto_says_what_it_chose_and_why() {
    // The device is chosen first; the missing data then ends the command.
    let output = wgan(&[
        "bench",
        "--config",
        smoke_config().to_str().unwrap(),
        "--set",
        "data.path=/nonexistent/fashion-mnist",
        "--device",
        "auto",
    ]);
    let stderr = stderr_with_code(&output, 1);
    let chosen = stderr
        .lines()
        .find(|line| line.starts_with("device: "))
        .unwrap_or_default();
    assert!(!chosen.is_empty(), "{stderr}");
    if chosen.starts_with("device: cpu") {
        assert!(
            chosen.contains("(auto: no CUDA: ") && chosen.contains("no hardware wgpu adapter: "),
            "{chosen}"
        );
    }
}

/// `WGAN_DEVICE` stands in for a missing `--device`, and the flag wins over it.
#[test]
fn wgan_device_is_the_default_and_the_flag_wins() {
    let config = smoke_config();
    let bench = |device_variable: &str, flag: Option<&str>| {
        let mut command = common::binary().command();
        command.env(wgan_test_support::binary::DEVICE_VARIABLE, device_variable);
        command.args(["bench", "--config", config.to_str().unwrap()]);
        // The device is chosen first; the missing data then ends the command.
        command.args(["--set", "data.path=/nonexistent/fashion-mnist"]);
        if let Some(flag) = flag {
            command.args(["--device", flag]);
        }
        stderr_with_code(&command.output().unwrap(), 1)
    };
    let stderr = bench("gpu", None);
    assert!(stderr.contains("--device gpu: unknown device"), "{stderr}");
    let stderr = bench("gpu", Some("cpu"));
    assert!(stderr.lines().any(|line| line.starts_with("device: cpu")), "{stderr}");
    let stderr = bench("cpu", None);
    assert!(stderr.lines().any(|line| line.starts_with("device: cpu")), "{stderr}");
}
