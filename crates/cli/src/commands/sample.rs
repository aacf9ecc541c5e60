//! `wgan sample`: images from a trained generator, as a PNG grid and a NumPy array.

use std::path::PathBuf;

use anyhow::Context;
use burn::tensor::backend::AutodiffBackend;
use wgan_train::{Grid, load_generator, sample, write_npy};

use crate::args::SampleArgs;
use crate::device::{self, with_backend};

/// Grid columns: 8 for 64 samples, as in training.
const GRID_COLUMNS: usize = 8;

/// Writes FILE.png, FILE.npy and FILE.noise.npy.
pub fn run(args: &SampleArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.n > 0, crate::UserError("--n must be at least 1".into()));
    let device = device::select(args.device)?;
    with_backend!(&device, |B, handle| sample_on::<<B as AutodiffBackend>::InnerBackend>(
        args, &handle
    ))
}

fn sample_on<B: burn::tensor::backend::Backend>(args: &SampleArgs, device: &B::Device) -> anyhow::Result<()> {
    let loaded = load_generator::<B>(&args.from, args.weights.into(), device)
        .with_context(|| format!("loading the generator from {}", args.from.display()))?;
    let model = &loaded.model;
    let (noise, samples) = sample(&loaded.generator, model.latent_dim, args.n, args.seed, device)?;
    let base = strip_extension(&args.out);
    if let Some(parent) = base.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let with = |extension: &str| PathBuf::from(format!("{}.{extension}", base.display()));
    let (channels, size) = (model.channels, model.image_size);
    Grid::tile(&samples, channels, size, GRID_COLUMNS, args.scale)?.save(&with("png"))?;
    write_npy(
        &with("npy"),
        &samples,
        &[args.n as u64, channels as u64, size as u64, size as u64],
    )?;
    write_npy(&with("noise.npy"), &noise, &[args.n as u64, model.latent_dim as u64])?;
    eprintln!("generator: {}", loaded.describe());
    for extension in ["png", "npy", "noise.npy"] {
        println!("{}", with(extension).display());
    }
    Ok(())
}

/// `out.png` or `out.npy` -> `out`; anything else unchanged.
fn strip_extension(path: &std::path::Path) -> PathBuf {
    match path.extension().and_then(|e| e.to_str()) {
        Some("png" | "npy") => path.with_extension(""),
        _ => path.to_path_buf(),
    }
}
