//! `wgan classifier train`, `wgan eval` and quality measurement during training, end to end
//! on generated IDX files (the numbers mean nothing here; the plumbing is what is checked).

mod common;

use common::{smoke_train_args, stderr_with_code, wgan, write_split};

#[test]
fn classifier_eval_and_eval_interval_work_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    write_split(&data, "train", 256);
    write_split(&data, "t10k", 100);
    let data_arg = data.to_str().unwrap();

    // Without a classifier, quality measurement says how to get one.
    let classifier = dir.path().join("classifier.safetensors");
    let run = dir.path().join("run");
    let mut args = smoke_train_args(&run, &data);
    args.extend([
        "--set".to_string(),
        "schedule.eval_interval=10".into(),
        "--set".into(),
        "schedule.eval_samples=20".into(),
        "--set".into(),
        format!("data.classifier={}", classifier.display()),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let stderr = stderr_with_code(&wgan(&args), 1);
    assert!(stderr.contains(classifier.to_str().unwrap()), "{stderr}");
    assert!(stderr.contains("wgan classifier train"), "{stderr}");
    assert!(
        !run.join("metrics.jsonl").exists(),
        "nothing trained without the classifier"
    );

    let classifier_arg = classifier.to_str().unwrap();
    let output = wgan(&[
        "classifier",
        "train",
        "--data",
        data_arg,
        "--limit",
        "128",
        "--epochs",
        "1",
        "--out",
        classifier_arg,
    ]);
    stderr_with_code(&output, 0);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("test accuracy"), "{stdout}");
    assert!(classifier.is_file());
    assert!(stdout.contains("NOT the reference classifier"), "{stdout}");

    // Training measures every 10 steps, logs the numbers and draws them.
    stderr_with_code(&wgan(&args), 0);
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let measured: Vec<u64> = metrics
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|m| m["fd_fmnist"].as_f64().is_some_and(|fd| fd >= 0.0))
        .filter(|m| {
            m["inception_score"]
                .as_f64()
                .is_some_and(|is| (1.0..=10.0).contains(&is))
        })
        .map(|m| m["step"].as_u64().unwrap())
        .collect();
    assert_eq!(measured, vec![10, 20, 30]);
    assert!(run.join("plots/quality.png").is_file());

    // `wgan eval` on the run directory.
    let output = wgan(&[
        "eval",
        "--from",
        run.to_str().unwrap(),
        "--samples",
        "50",
        "--classifier",
        classifier_arg,
        "--data",
        data_arg,
        "--json",
    ]);
    stderr_with_code(&output, 0);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["samples"], 50);
    assert_eq!(report["step"], 30);
    assert!(report["fd_fmnist"].as_f64().unwrap() >= 0.0, "{report}");
    let score = report["inception_score"].as_f64().unwrap();
    assert!((1.0..=10.0).contains(&score), "{report}");
    for key in ["kid", "kid_std", "precision", "recall"] {
        assert!(report[key].as_f64().is_some_and(f64::is_finite), "{key}: {report}");
    }
    assert_eq!(report["reference_classifier"], false, "{report}");
    assert_eq!(report["weights"], "raw", "{report}");
    let kid_logged = metrics
        .lines()
        .any(|line| line.contains("\"kid\"") && line.contains("\"recall\""));
    assert!(kid_logged, "metrics.jsonl has no KID / recall");

    // A damaged classifier is refused by name.
    std::fs::write(&classifier, b"not a network").unwrap();
    let output = wgan(&[
        "eval",
        "--from",
        run.to_str().unwrap(),
        "--classifier",
        classifier_arg,
        "--data",
        data_arg,
    ]);
    let stderr = stderr_with_code(&output, 1);
    assert!(
        stderr.contains("classifier.safetensors: not a safetensors file"),
        "{stderr}"
    );
}
