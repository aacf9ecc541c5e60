//! `wgan bench --json` on the CPU, on generated IDX files.

mod common;

use common::{smoke_config, stderr_with_code, wgan, with_training_data};

#[test]
fn bench_json_reports_the_median_step_and_the_time_split() {
    let (_dir, data) = with_training_data();
    let config = smoke_config();
    let data_path = format!("data.path={}", data.display());
    let output = wgan(&[
        "bench",
        "--config",
        config.to_str().unwrap(),
        "--set",
        &data_path,
        "--device",
        "cpu",
        "--steps",
        "3",
        "--warmup",
        "1",
        "--peak",
        "--json",
    ]);
    stderr_with_code(&output, 0);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let median = report["median_step_s"].as_f64().unwrap();
    let steps: Vec<f64> = report["step_s"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(steps.len(), 3);
    let mut sorted = steps.clone();
    sorted.sort_by(f64::total_cmp);
    assert_eq!(median, sorted[1], "the median of the timed steps");
    assert!((report["steps_per_s"].as_f64().unwrap() * median - 1.0).abs() < 1e-9);
    assert!((report["images_per_s"].as_f64().unwrap() * median - 16.0 * 5.0).abs() < 1e-6);
    assert_eq!(report["variant"], "wgan-gp");
    assert_eq!(report["dim"], 8);
    assert!(report["device"].as_str().unwrap().starts_with("cpu"));
    let share = &report["time_share"];
    let total: f64 = ["data", "critic", "generator"]
        .iter()
        .map(|k| share[k].as_f64().unwrap())
        .sum();
    assert!((total - 1.0).abs() < 1e-9, "{share}");
    assert!(share["critic"].as_f64().unwrap() > share["data"].as_f64().unwrap());

    // FLOPs from the networks' forward FLOPs (`wgan info`), by the documented count: batch 16,
    // n_critic 5, critic step b·(F_G + 12·F_D) with the penalty, generator step b·(3·F_G + 2·F_D).
    let info = wgan(&["info", "--json", "--config", config.to_str().unwrap()]);
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    let generator = info["generator"]["forward_flops"].as_u64().unwrap();
    let critic = info["critic"]["forward_flops"].as_u64().unwrap();
    let expected = 5 * 16 * (generator + 12 * critic) + 16 * (3 * generator + 2 * critic);
    assert_eq!(report["flops_per_step"].as_u64(), Some(expected));
    let gflop_per_s = report["gflop_per_s"].as_f64().unwrap();
    assert!((gflop_per_s * median * 1e9 / expected as f64 - 1.0).abs() < 1e-9);
    let peak = report["peak_gflop_per_s"].as_f64().unwrap();
    assert!(peak > 0.0 && peak.is_finite(), "{peak}");
    // On the CPU the peak is the convolutions' own gemm call, one product per thread.
    assert!(report["peak_method"].as_str().unwrap().starts_with("gemm"), "{report}");
    assert_eq!(report["peak_matrix_size"].as_u64(), Some(1024));
    assert!(report["peak_concurrent_products"].as_u64().unwrap() >= 1);
    let fraction = report["peak_fraction"].as_f64().unwrap();
    assert!((fraction * peak / gflop_per_s - 1.0).abs() < 1e-9);
}
