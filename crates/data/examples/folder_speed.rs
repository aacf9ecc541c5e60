//! Measures loading an image folder: the first load (decode, preprocess, write the cache) and
//! the cached load, next to the IDX load of the same images.
//!
//! `cargo run --release -p wgan-data --example folder_speed -- FOLDER [--size 32] [--channels 1] [--repeats 3]`
//!
//! Each first load uses a fresh cache directory, so it decodes every file (the files
//! themselves are in the page cache after the first round, as on any second epoch of a
//! real machine). Prints medians over the repeats, and images per second.

use std::path::PathBuf;
use std::time::Instant;

use wgan_data::{CacheStatus, DataSpec, Preprocessing, SourceKind, load_data};

fn main() {
    let mut folder = None;
    let (mut size, mut channels, mut repeats) = (32usize, 1usize, 3usize);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |default: usize| args.next().and_then(|n| n.parse().ok()).unwrap_or(default);
        match arg.as_str() {
            "--size" => size = number(size),
            "--channels" => channels = number(channels),
            "--repeats" => repeats = number(repeats),
            other => folder = Some(PathBuf::from(other)),
        }
    }
    let Some(folder) = folder else {
        eprintln!("usage: folder_speed FOLDER [--size 32] [--channels 1] [--repeats 3]");
        std::process::exit(1);
    };
    let spec = |cache_dir: PathBuf| DataSpec {
        cache_dir: Some(cache_dir),
        ..DataSpec::new(SourceKind::ImageFolder, &folder, Preprocessing::new(size, channels))
    };
    let load = |spec: &DataSpec| match load_data(spec, &()) {
        Ok(loaded) => loaded,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::exit(1);
        }
    };
    let (mut first, mut cached) = (Vec::new(), Vec::new());
    let mut count = 0;
    for _ in 0..repeats.max(1) {
        let cache = tempfile::tempdir().unwrap_or_else(|err| {
            eprintln!("error: cannot make a cache directory: {err}");
            std::process::exit(1);
        });
        let spec = spec(cache.path().to_path_buf());
        let started = Instant::now();
        let loaded = load(&spec);
        first.push(started.elapsed().as_secs_f64());
        assert!(
            matches!(loaded.report.cache, CacheStatus::Written { .. }),
            "{:?}",
            loaded.report.cache
        );
        count = loaded.images.len();
        let started = Instant::now();
        let again = load(&spec);
        cached.push(started.elapsed().as_secs_f64());
        assert!(
            matches!(again.report.cache, CacheStatus::Hit { .. }),
            "{:?}",
            again.report.cache
        );
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (first, cached) = (median(first), median(cached));
    println!(
        "{}: {count} images -> {channels}x{size}x{size}; first load (decode + cache write) median {first:.2} s \
         = {:.0} images/s; cached load median {cached:.2} s = {:.0} images/s; {} runs",
        folder.display(),
        count as f64 / first,
        count as f64 / cached,
        repeats.max(1)
    );
}
