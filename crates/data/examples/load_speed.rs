//! Measures how long loading and preprocessing Fashion-MNIST takes.
//!
//! `cargo run --release -p wgan-data --example load_speed [-- DIR] [-- --repeats N]`
//!
//! Prints the median over the repeats of: read + gunzip + IDX checks + 28→32 bilinear resize +
//! scaling, for the 60 000 training images and their labels.

use std::path::PathBuf;
use std::time::Instant;

use wgan_data::{DatasetSources, Split, load_image_set};

fn main() {
    let mut dir = None;
    let mut repeats = 5usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--repeats" => repeats = args.next().and_then(|n| n.parse().ok()).unwrap_or(repeats),
            other => dir = Some(PathBuf::from(other)),
        }
    }
    let files = match DatasetSources::standard(dir).locate(Split::Train) {
        Ok(files) => files,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::exit(1);
        }
    };
    let mut seconds = Vec::with_capacity(repeats);
    for _ in 0..repeats.max(1) {
        let started = Instant::now();
        let set = match load_image_set(&files, Some([28, 28]), 32) {
            Ok(set) => set,
            Err(err) => {
                eprintln!("error: {err}");
                std::process::exit(1);
            }
        };
        seconds.push(started.elapsed().as_secs_f64());
        assert_eq!(set.len(), 60_000);
    }
    seconds.sort_by(f64::total_cmp);
    println!(
        "loaded {} ({} images -> 32x32 in [-1, 1]): median {:.3} s over {} runs (min {:.3} s, max {:.3} s)",
        files.images.display(),
        60_000,
        seconds[seconds.len() / 2],
        seconds.len(),
        seconds[0],
        seconds[seconds.len() - 1]
    );
}
