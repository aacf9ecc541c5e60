//! `wgan info` end to end: the real binary on the shipped configs.

mod common;

use std::path::Path;

use common::{config, wgan};

fn info_json(config_path: &Path, overrides: &[&str]) -> serde_json::Value {
    let mut args = vec!["info", "--json", "--config", config_path.to_str().unwrap()];
    for o in overrides {
        args.extend(["--set", o]);
    }
    let output = wgan(&args);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn json_reports_the_seed_parameter_counts() {
    let cases = [
        ("wgan.toml", "model.dim=128", 5_173_505, 4_109_825),
        ("wgan-gp.toml", "model.dim=128", 5_996_289, 4_107_393),
        ("wgan.toml", "model.dim=64", 1_562_753, 1_030_913),
        ("wgan-gp.toml", "model.dim=64", 1_769_345, 1_029_697),
    ];
    for (file, dim, generator, critic) in cases {
        let report = info_json(&config(file), &[dim]);
        assert_eq!(report["generator"]["trainable_params"], generator, "{file} {dim}");
        assert_eq!(report["critic"]["trainable_params"], critic, "{file} {dim}");
        assert!(report["generator"]["layers"].as_array().unwrap().len() > 5);
    }
}

#[test]
fn text_summary_lists_layers_and_totals() {
    let output = wgan(&["info", "--config", config("wgan-gp.toml").to_str().unwrap()]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("generator trainable parameters: 5,996,289"), "{text}");
    assert!(text.contains("critic trainable parameters: 4,107,393"), "{text}");
    assert!(text.contains("[1, 32, 32]"), "{text}");
}

#[test]
fn bad_configs_exit_1_with_the_file_and_field_and_no_panic() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("preset = \"wgan\"\n[model]\ndim = 0\n", "model.dim"),
        ("preset = \"wgan\"\n[model]\nimage_size = 48\n", "model.image_size"),
        ("preset = \"wgan\"\n[data]\nbatch_size = \"big\"\n", "data.batch_size"),
        ("preset = \"wgan\"\n[modle]\ndim = 4\n", "modle"),
        ("preset = [", "invalid TOML"),
    ];
    for (index, (text, field)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad-{index}.toml"));
        std::fs::write(&path, text).unwrap();
        let output = wgan(&["info", "--config", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{text:?}: {stderr}");
        assert!(stderr.contains(path.to_str().unwrap()), "file not named: {stderr}");
        assert!(stderr.contains(field), "field {field} not named: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let output = wgan(&["info", "--config", "/nonexistent/run.toml"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("/nonexistent/run.toml"), "{stderr}");
}
