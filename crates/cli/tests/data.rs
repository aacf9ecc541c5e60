//! `wgan train` on your own images, and `wgan data inspect | prepare | export`, end to end.

mod common;

use std::path::{Path, PathBuf};

use common::{config, stderr_with_code, wgan};
use wgan_test_support::images::{truncated_jpeg, write_rgb_folder};

/// `wgan train` on `configs/wgan-gp-64.toml`, shrunk to a few quick steps, on the folder.
fn train_64(run: &Path, folder: &Path, cache: &Path, extra: &[&str]) -> std::process::Output {
    let config = config("wgan-gp-64.toml");
    let mut args: Vec<String> = vec![
        "train".into(),
        "--config".into(),
        config.display().to_string(),
        "--out".into(),
        run.display().to_string(),
        "--device".into(),
        "cpu".into(),
    ];
    for set in [
        "data.source=image-folder".to_string(),
        format!("data.path={}", folder.display()),
        format!("data.cache_dir={}", cache.display()),
        "model.dim=4".into(),
        "data.batch_size=4".into(),
        "schedule.steps=2".into(),
        "schedule.n_critic=1".into(),
        "schedule.sample_interval=1".into(),
        "schedule.log_interval=1".into(),
    ]
    .into_iter()
    .chain(extra.iter().map(|s| s.to_string()))
    {
        args.push("--set".into());
        args.push(set);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    wgan(&args)
}

fn newest_grid(run: &Path) -> PathBuf {
    let mut grids: Vec<PathBuf> = std::fs::read_dir(run.join("samples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    grids.sort();
    grids.pop().expect("a sample grid")
}

#[test]
fn trains_on_a_folder_of_mixed_size_rgb_images_with_rgb_64_pixel_grids() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("pets");
    write_rgb_folder(&folder, 8);
    let run = dir.path().join("run");
    let output = train_64(&run, &folder, &dir.path().join("cache"), &["data.horizontal_flip=true"]);
    let stderr = stderr_with_code(&output, 0);
    assert!(stderr.contains("8 images, 2 classes"), "{stderr}");
    let grid = image::open(newest_grid(&run)).unwrap();
    assert_eq!(grid.color(), image::ColorType::Rgb8);
    let tile = 64 + wgan_train::GRID_BORDER as u32;
    assert_eq!(
        grid.width(),
        8 * tile + wgan_train::GRID_BORDER as u32,
        "8 columns of 64-pixel tiles"
    );
    let data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("data.json")).unwrap()).unwrap();
    assert_eq!(data["count"], 8);
    assert_eq!(data["classes"][1][0], "dogs");
    assert_eq!(data["skipped"], 3);

    // The second start reads the cache.
    let again = train_64(&dir.path().join("run-2"), &folder, &dir.path().join("cache"), &[]);
    let stderr = stderr_with_code(&again, 0);
    assert!(stderr.contains("from the cache"), "{stderr}");
}

#[test]
fn a_corrupt_jpeg_stops_the_run_by_name_or_is_skipped_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("pets");
    write_rgb_folder(&folder, 8);
    std::fs::write(folder.join("cats").join("broken.jpg"), truncated_jpeg()).unwrap();
    let cache = dir.path().join("cache");
    let stderr = stderr_with_code(&train_64(&dir.path().join("a"), &folder, &cache, &[]), 1);
    assert!(
        stderr.contains("broken.jpg") && stderr.contains("unreadable image"),
        "{stderr}"
    );
    assert!(!dir.path().join("a").join("metrics.jsonl").exists());
    let skipped = train_64(
        &dir.path().join("b"),
        &folder,
        &cache,
        &["data.skip_unreadable=true", "data.max_unreadable_fraction=0.2"],
    );
    let stderr = stderr_with_code(&skipped, 0);
    assert!(stderr.contains("1 unreadable images"), "{stderr}");
}

#[test]
fn channels_the_data_cannot_give_are_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("pets");
    write_rgb_folder(&folder, 4);
    let stderr = stderr_with_code(
        &train_64(&dir.path().join("run"), &folder, dir.path(), &["model.channels=2"]),
        1,
    );
    assert!(stderr.contains("model.channels"), "{stderr}");
    assert!(!dir.path().join("run").exists(), "nothing written");
    // More images per batch than the folder has.
    let stderr = stderr_with_code(
        &train_64(&dir.path().join("run"), &folder, dir.path(), &["data.batch_size=5"]),
        1,
    );
    assert!(stderr.contains("data.batch_size"), "{stderr}");
}

#[test]
fn inspect_reports_the_folder_and_writes_a_contact_sheet() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("pets");
    write_rgb_folder(&folder, 6);
    let sheet = dir.path().join("sheet.png");
    let cache = format!("data.cache_dir={}", dir.path().join("cache").display());
    let preset = config("wgan-gp-64.toml");
    let output = wgan(&[
        "data",
        "inspect",
        folder.to_str().unwrap(),
        "--config",
        preset.to_str().unwrap(),
        "--set",
        &cache,
        "--sheet",
        sheet.to_str().unwrap(),
    ]);
    stderr_with_code(&output, 0);
    let stdout = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "images     6 -> 3×64×64",
        "classes    2: cats 3, dogs 3",
        "skipped    3 files",
        "Rgb8 6",
        "40×50",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in {stdout}");
    }
    let sheet = image::open(&sheet).unwrap();
    assert_eq!(sheet.color(), image::ColorType::Rgb8);
    assert_eq!(
        (sheet.width(), sheet.height()),
        (8 * 66 + 2, 66 + 2),
        "6 images fill one row of 8 tiles"
    );

    let prepared = wgan(&["data", "prepare", folder.to_str().unwrap(), "--set", &cache]);
    stderr_with_code(&prepared, 0);
    assert!(String::from_utf8_lossy(&prepared.stdout).contains("cache written"));
    let again = wgan(&["data", "prepare", folder.to_str().unwrap(), "--set", &cache]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("up to date"));
}

#[test]
fn inspect_of_nothing_usable_is_an_error_naming_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"x").unwrap();
    let stderr = stderr_with_code(&wgan(&["data", "inspect", dir.path().to_str().unwrap()]), 1);
    assert!(
        stderr.contains("no images found") && stderr.contains(dir.path().to_str().unwrap()),
        "{stderr}"
    );
}

#[test]
fn info_shows_the_64_pixel_rgb_preset() {
    let output = wgan(&["info", "--config", config("wgan-gp-64.toml").to_str().unwrap()]);
    stderr_with_code(&output, 0);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("image_size = 64") && stdout.contains("channels = 3"),
        "{stdout}"
    );
    assert!(stdout.contains("[3, 64, 64]"), "generator output 3×64×64: {stdout}");
}

#[test]
fn flipped_folder_runs_resume_exactly_and_flips_change_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("pets");
    write_rgb_folder(&folder, 8);
    let cache = dir.path().join("cache");
    let flips = ["data.horizontal_flip=true", "schedule.checkpoint_interval=1"];
    let straight = dir.path().join("straight");
    let four = [&flips[..], &["schedule.steps=4"]].concat();
    stderr_with_code(&train_64(&straight, &folder, &cache, &four), 0);

    let resumed = dir.path().join("resumed");
    stderr_with_code(&train_64(&resumed, &folder, &cache, &flips), 0);
    assert_eq!(common::losses(&resumed).len(), 2);
    let output = wgan(&["train", "--resume", resumed.to_str().unwrap(), "--steps", "4"]);
    stderr_with_code(&output, 0);
    assert_eq!(
        common::losses(&resumed),
        common::losses(&straight),
        "resumed run diverged"
    );

    let unflipped = dir.path().join("unflipped");
    stderr_with_code(
        &train_64(
            &unflipped,
            &folder,
            &cache,
            &["schedule.steps=4", "data.horizontal_flip=false"],
        ),
        0,
    );
    assert_ne!(
        common::losses(&unflipped),
        common::losses(&straight),
        "flips had no effect"
    );
}
