//! `wgan compare` on two real (smoke) runs: one chart per logged metric, the table in
//! Markdown, CSV and JSON; `wgan plot` writes PNG and SVG.

mod common;

use common::{smoke_train_args, wgan, with_training_data};

#[test]
fn two_runs_are_compared_on_one_chart_per_metric() {
    let (dir, data) = with_training_data();
    let mut runs = Vec::new();
    for (name, lambda) in [("gp-10", "10"), ("gp-1", "1")] {
        let run = dir.path().join(name);
        let mut args = smoke_train_args(&run, &data);
        args.extend(["--steps", "6", "--set"].map(String::from));
        args.push(format!("lipschitz.gp_lambda={lambda}"));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = wgan(&args);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        runs.push(run.display().to_string());
    }
    let out = dir.path().join("charts/cmp.png");
    let mut args = vec!["compare", &runs[0], &runs[1], "--out", out.to_str().unwrap(), "--json"];
    let output = wgan(&args);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    for metric in [
        "wasserstein_estimate",
        "critic_loss",
        "generator_loss",
        "gradient_penalty",
    ] {
        let chart = dir.path().join(format!("charts/cmp-{metric}.png"));
        assert_eq!(image::image_dimensions(&chart).unwrap(), (1000, 600), "{metric}");
    }
    assert!(
        !dir.path().join("charts/cmp-fd_fmnist.png").exists(),
        "no quality was measured"
    );
    let table: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let rows = table.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0]["run"].as_str(), rows[1]["run"].as_str()),
        (Some("gp-10"), Some("gp-1"))
    );
    assert_eq!(rows[0]["steps"], 6);
    assert!(rows[0]["steps_per_s"].as_f64().unwrap() > 0.0);
    assert_eq!(rows[0]["best_fd_fmnist"], serde_json::Value::Null);

    args.pop();
    args.push("--csv");
    let csv = String::from_utf8(wgan(&args).stdout).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.starts_with("run,steps,"), "{csv}");
    args.pop();
    let markdown = String::from_utf8(wgan(&args).stdout).unwrap();
    assert!(
        markdown.lines().nth(2).unwrap().starts_with("| gp-10 | 6 |"),
        "{markdown}"
    );

    // SVG charts by extension, and a run directory that is not one is named.
    let svg = dir.path().join("cmp.svg");
    let output = wgan(&[
        "compare",
        &runs[0],
        "--out",
        svg.to_str().unwrap(),
        "--metric",
        "wasserstein",
    ]);
    assert!(output.status.success());
    let text = std::fs::read_to_string(dir.path().join("cmp-wasserstein_estimate.svg")).unwrap();
    assert!(text.contains("gp-10") && text.contains("Wasserstein estimate"));
    let output = wgan(&["compare", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a run directory"));

    // wgan plot redraws PNG and SVG.
    let output = wgan(&["plot", &runs[1]]);
    assert!(output.status.success());
    assert!(dir.path().join("gp-1/plots/losses.svg").is_file());
}

#[test]
fn sample_grids_scale_by_an_integer_factor() {
    let (dir, data) = with_training_data();
    let run = dir.path().join("run");
    let mut args = smoke_train_args(&run, &data);
    args.extend(["--steps", "2"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(wgan(&args).status.success());
    let out = dir.path().join("big");
    let sample = |scale: &str| {
        wgan(&[
            "sample",
            "--from",
            run.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--scale",
            scale,
        ])
    };
    let output = sample("3");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let side = 3 * (8 * 34 + 2);
    assert_eq!(
        image::image_dimensions(dir.path().join("big.png")).unwrap(),
        (side, side)
    );
    assert_eq!(sample("0").status.code(), Some(1));
}
