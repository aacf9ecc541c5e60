//! `wgan train` and `wgan plot` end to end on the smoke config with generated IDX files.

mod common;

use std::path::Path;
use std::process::Command;

use common::{
    assert_losses_agree, losses, smoke_train_args, stderr_with_code, wait_for_steps, wgan, with_training_data,
};

#[test]
fn smoke_run_writes_every_artifact() {
    let (dir, data) = with_training_data();
    let run = dir.path().join("run");
    let args = smoke_train_args(&run, &data);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = wgan(&args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("step 30/30"),
        "plain progress lines off a terminal: {stderr}"
    );

    // The resolved config reads back as the same run.
    let resolved = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(
        resolved.contains("steps = 30") && resolved.contains("dim = 8"),
        "{resolved}"
    );

    // One metrics line per step, with every field.
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = metrics.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 30);
    for (index, line) in lines.iter().enumerate() {
        assert_eq!(line["step"], index as u64 + 1);
        for key in [
            "critic_loss",
            "generator_loss",
            "wasserstein_estimate",
            "gradient_penalty",
            "elapsed_s",
        ] {
            assert!(
                line[key].as_f64().is_some_and(f64::is_finite),
                "step {}: {key} missing",
                index + 1
            );
        }
    }

    // Grids every 10 steps: 8×8 tiles of 32 px with a 2 px border.
    for step in [10, 20, 30] {
        let grid = run.join(format!("samples/step-{step:06}.png"));
        assert_eq!(
            image::image_dimensions(&grid).unwrap(),
            (8 * 34 + 2, 8 * 34 + 2),
            "{}",
            grid.display()
        );
    }
    assert!(run.join("samples/fixed-noise.npy").is_file());
    assert_eq!(
        image::image_dimensions(run.join("plots/losses.png")).unwrap(),
        (1000, 900)
    );

    // `wgan plot` redraws the plot from the metrics.
    std::fs::remove_file(run.join("plots/losses.png")).unwrap();
    let output = wgan(&["plot", run.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(run.join("plots/losses.png").is_file());

    // Samples from the final checkpoint: the run's own seed reproduces its last grid.
    let base = dir.path().join("out/samples");
    let output = wgan(&[
        "sample",
        "--from",
        run.to_str().unwrap(),
        "--n",
        "64",
        "--seed",
        "1",
        "--out",
        base.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let grid = std::fs::read(dir.path().join("out/samples.png")).unwrap();
    assert_eq!(grid, std::fs::read(run.join("samples/step-000030.png")).unwrap());
    let npy = std::fs::read(dir.path().join("out/samples.npy")).unwrap();
    let header = String::from_utf8_lossy(&npy[..128]);
    assert!(
        header.contains("'shape': (64, 1, 32, 32, )") && header.contains("<f4"),
        "{header}"
    );
    assert_eq!(npy.len(), 128 + 64 * 32 * 32 * 4);

    // Export: PyTorch names and layouts in a safetensors file.
    let exported = dir.path().join("generator.safetensors");
    let output = wgan(&[
        "export",
        "--from",
        run.to_str().unwrap(),
        "--out",
        exported.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let bytes = std::fs::read(&exported).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
    // DIM 8, widths [4, 2, 2], latent 128: Linear 128 -> 512 stored as torch's [out, in].
    assert_eq!(header["project.weight"]["shape"], serde_json::json!([512, 128]));
    assert_eq!(header["project_norm.running_var"]["shape"], serde_json::json!([512]));
    assert_eq!(
        header["blocks.1.conv.weight"]["shape"],
        serde_json::json!([16, 16, 5, 5])
    );
    assert_eq!(header["output.weight"]["shape"], serde_json::json!([1, 16, 5, 5]));
    assert!(
        header["__metadata__"]["wgan.model"]
            .as_str()
            .unwrap()
            .contains("dim = 8")
    );

    // A used run directory is refused, without touching it.
    let output = wgan(&args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("already holds a run"), "{stderr}");
    assert_eq!(std::fs::read_to_string(run.join("metrics.jsonl")).unwrap(), metrics);
}

#[test]
fn missing_data_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let args = smoke_train_args(&run, &dir.path().join("nowhere"));
    let output = wgan(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("train-images-idx3-ubyte.gz not found"), "{stderr}");
    assert!(stderr.contains("nowhere"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!run.exists(), "no run directory for a run that never started");
}

#[test]
fn killed_and_interrupted_runs_resume_and_match_an_uninterrupted_one() {
    let (dir, data) = with_training_data();
    let train = |run: &Path| {
        common::binary()
            .command()
            .args(smoke_train_args(run, &data))
            .args(["--set", "schedule.checkpoint_interval=4"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };

    let straight = dir.path().join("straight");
    assert!(train(&straight).wait().unwrap().success());

    // SIGKILL once a few steps are logged past the first checkpoints.
    let killed = dir.path().join("killed");
    let mut child = train(&killed);
    wait_for_steps(&killed, 11);
    child.kill().unwrap();
    child.wait().unwrap();
    let logged = losses(&killed).len();
    assert!(logged < 30, "killed before the end ({logged} steps logged)");

    let output = wgan(&["train", "--resume", killed.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("resuming"), "{stderr}");

    let (expected, actual) = (losses(&straight), losses(&killed));
    let steps: Vec<u64> = actual.iter().map(|m| m["step"].as_u64().unwrap()).collect();
    assert_eq!(
        steps,
        (1..=30).collect::<Vec<_>>(),
        "one line per step, no gaps, no repeats"
    );
    assert_eq!(
        actual, expected,
        "killed and resumed run diverged from the uninterrupted one"
    );
    assert!(killed.join("checkpoints/step-000030/state.json").is_file());

    // Ctrl-C (SIGINT): the step in flight is finished and checkpointed, exit code 130, and
    // resuming from that checkpoint continues exactly.
    let interrupted = dir.path().join("interrupted");
    let mut child = train(&interrupted);
    wait_for_steps(&interrupted, 6);
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let logged = losses(&interrupted);
    let step = logged.len();
    assert!(step < 30, "stopped before the end");
    assert!(
        interrupted
            .join(format!("checkpoints/step-{step:06}/state.json"))
            .is_file(),
        "checkpoint at step {step}"
    );
    let output = wgan(&["train", "--resume", interrupted.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(losses(&interrupted), expected, "interrupted and resumed run diverged");

    // --steps extends a finished run.
    let output = wgan(&["train", "--resume", killed.to_str().unwrap(), "--steps", "33"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(losses(&killed).len(), 33);
}

#[test]
fn sampling_without_a_checkpoint_is_a_user_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("samples");
    let output = wgan(&[
        "sample",
        "--from",
        dir.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no usable checkpoint"), "{stderr}");
    assert!(stderr.contains(dir.path().to_str().unwrap()), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `--devices cpu,cpu`: two replicas train the smoke run like one device (the smoke config's
/// generator has BatchNorm, synchronised), the run records its replica count, and resuming
/// needs as many devices as replicas.
#[test]
fn two_cpu_replicas_train_like_one_and_resume_only_with_as_many() {
    let (dir, data) = with_training_data();
    let [one, two] = ["one", "two"].map(|name| dir.path().join(name));
    let train = |run: &Path, devices: &[&str]| {
        let mut args = smoke_train_args(run, &data);
        args.extend(["--steps", "4"].map(String::from));
        args.extend(devices.iter().map(|arg| arg.to_string()));
        wgan(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let single = train(&one, &["--device", "cpu"]);
    assert!(single.status.success(), "{}", String::from_utf8_lossy(&single.stderr));
    let parallel = train(&two, &["--devices", "cpu,cpu"]);
    let stderr = String::from_utf8_lossy(&parallel.stderr);
    assert!(parallel.status.success(), "{stderr}");
    assert!(
        stderr.contains("data parallel: 2 replicas, batch 16 = 2 × 8"),
        "{stderr}"
    );
    let config = std::fs::read_to_string(two.join("config.toml")).unwrap();
    assert!(config.contains("replicas = 2"), "{config}");

    let [a, b] = [&one, &two].map(|run| losses(run));
    assert_eq!(a.len(), 4);
    assert_losses_agree(&a, &b, 1e-4);

    let resume = |devices: &str| {
        let run = two.display().to_string();
        wgan(&["train", "--resume", &run, "--steps", "6", "--devices", devices])
    };
    let refused = resume("cpu");
    let stderr = stderr_with_code(&refused, 1);
    assert!(stderr.contains("2 replicas"), "{stderr}");
    let resumed = resume("cpu,cpu");
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    assert_eq!(losses(&two).len(), 6);
}
