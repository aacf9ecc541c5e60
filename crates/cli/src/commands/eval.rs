//! `wgan eval`: FD-FMNIST and the Inception Score of a trained generator.

use anyhow::Context;
use burn::tensor::backend::{AutodiffBackend, Backend};
use wgan_data::Split;
use wgan_eval::{IS_SPLITS, QualityMeter, load_classifier};
use wgan_train::load_generator;

use crate::UserError;
use crate::args::EvalArgs;
use crate::dataset::load_split;
use crate::device::{self, with_backend};

/// Side length of the real images measured by `--train-images` (the classifier's input).
const REAL_IMAGE_SIZE: usize = 32;

/// Prints both metrics for the generator in `--from`, or for real training images.
pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
    if args.samples < IS_SPLITS {
        return Err(UserError(format!("--samples must be at least {IS_SPLITS} (the IS splits)")).into());
    }
    let device = device::select(args.device)?;
    with_backend!(&device, |B, handle| eval_on::<<B as AutodiffBackend>::InnerBackend>(
        args, &handle
    ))
}

fn eval_on<B: Backend>(args: &EvalArgs, device: &B::Device) -> anyhow::Result<()> {
    let (quality, source) = match &args.from {
        Some(from) => {
            let loaded = load_generator::<B>(from, device)
                .with_context(|| format!("loading the generator from {}", from.display()))?;
            let meter = quality_meter(&args.classifier, args.data.clone(), loaded.model.image_size, device)?;
            let quality = meter.measure_generator(&loaded.generator, loaded.model.latent_dim, args.samples)?;
            eprintln!("generator: {} (step {})", loaded.checkpoint.display(), loaded.step);
            let source = serde_json::json!({ "checkpoint": loaded.checkpoint, "step": loaded.step });
            (quality, source)
        }
        None => {
            let meter = quality_meter::<B>(&args.classifier, args.data.clone(), REAL_IMAGE_SIZE, device)?;
            let train = load_split(Split::Train, args.data.clone(), REAL_IMAGE_SIZE)?;
            let count = args.samples.min(train.len());
            let pixels = train.unit_range(0..count);
            eprintln!("images: the first {count} of the training set");
            (
                meter.measure_images(&pixels)?,
                serde_json::json!({ "train_images": count }),
            )
        }
    };
    if args.json {
        let mut report = source;
        report["samples"] = quality.samples.into();
        report["fd_fmnist"] = quality.fd_fmnist.into();
        report["inception_score"] = quality.inception_score.mean.into();
        report["inception_score_std"] = quality.inception_score.std.into();
        report["classifier"] = args.classifier.display().to_string().into();
        println!("{report}");
    } else {
        println!("FD-FMNIST        {:.3}", quality.fd_fmnist);
        println!(
            "Inception Score  {:.3} ± {:.3} ({IS_SPLITS} splits)",
            quality.inception_score.mean, quality.inception_score.std
        );
        println!("samples          {}", quality.samples);
    }
    Ok(())
}

/// The classifier in `path` with the statistics of the Fashion-MNIST test set at `size`.
pub fn quality_meter<B: Backend>(
    path: &std::path::Path,
    data: Option<std::path::PathBuf>,
    size: usize,
    device: &B::Device,
) -> anyhow::Result<QualityMeter<B>> {
    let classifier = load_classifier::<B>(path, device).with_context(|| {
        format!(
            "loading the classifier from {} (train one with `wgan classifier train --out {}`)",
            path.display(),
            path.display()
        )
    })?;
    let config = &classifier.info.config;
    if config.image_size != size {
        return Err(UserError(format!(
            "the generator makes {size}×{size} images; the classifier in {} takes {}×{}",
            path.display(),
            config.image_size,
            config.image_size
        ))
        .into());
    }
    let test_set = load_split(Split::Test, data, size)?;
    Ok(QualityMeter::new(
        classifier.classifier,
        config.feature_dim,
        &test_set,
        device,
    )?)
}
