//! `wgan eval`: FD-FMNIST, the classifier Inception Score, KID, precision and recall of a
//! trained generator, of real training images, or of images from a NumPy file.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::tensor::backend::{AutodiffBackend, Backend};
use serde_json::json;
use wgan_data::Split;
use wgan_eval::{ClassifierInfo, ClassifierSource, DEFAULT_SAMPLES, IS_SPLITS, Quality, QualityMeter, load_classifier};
use wgan_train::{load_generator, read_npy, sample, write_npy};

use crate::UserError;
use crate::args::EvalArgs;
use crate::dataset::load_split;
use crate::device::{self, with_backend};

/// Side length of the images the classifier takes.
const CLASSIFIER_IMAGE_SIZE: usize = 32;

/// Prints every metric for the generator in `--from`, for real training images, or for the
/// images in `--images`.
pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
    if args.samples.is_some_and(|n| n < IS_SPLITS) {
        return Err(UserError(format!("--samples must be at least {IS_SPLITS} (the IS splits)")).into());
    }
    let device = device::select(args.device)?;
    with_backend!(&device, |B, handle| eval_on::<<B as AutodiffBackend>::InnerBackend>(
        args, &handle
    ))
}

fn eval_on<B: Backend>(args: &EvalArgs, device: &B::Device) -> anyhow::Result<()> {
    let source = ClassifierSource::from_option(args.classifier.as_deref());
    let (meter, classifier) = quality_meter::<B>(&source, args.data.clone(), CLASSIFIER_IMAGE_SIZE, device)?;
    let (pixels, mut report) = match (&args.from, &args.images) {
        (Some(from), _) => {
            let loaded = load_generator::<B>(from, args.weights.into(), device)
                .with_context(|| format!("loading the generator from {}", from.display()))?;
            if loaded.model.image_size != CLASSIFIER_IMAGE_SIZE || loaded.model.channels != 1 {
                return Err(UserError(format!(
                    "the generator makes {}-channel {}×{} images; the Fashion-MNIST classifier takes \
                     1-channel {CLASSIFIER_IMAGE_SIZE}×{CLASSIFIER_IMAGE_SIZE} images",
                    loaded.model.channels, loaded.model.image_size, loaded.model.image_size
                ))
                .into());
            }
            eprintln!("generator: {}", loaded.describe());
            let count = args.samples.unwrap_or(DEFAULT_SAMPLES);
            let (_, pixels) = sample(
                &loaded.generator,
                loaded.model.latent_dim,
                count,
                wgan_eval::EVAL_NOISE_SEED,
                device,
            )?;
            let report = json!({
                "checkpoint": loaded.checkpoint,
                "step": loaded.step,
                "weights": loaded.weights.name(),
            });
            (pixels, report)
        }
        (None, Some(path)) => {
            let mut pixels = read_images(path)?;
            let image = CLASSIFIER_IMAGE_SIZE * CLASSIFIER_IMAGE_SIZE;
            if let Some(count) = args.samples {
                pixels.truncate(count * image);
            }
            eprintln!("images: {} from {}", pixels.len() / image, path.display());
            (pixels, json!({ "images": path }))
        }
        (None, None) => {
            let train = load_split(Split::Train, args.data.clone(), CLASSIFIER_IMAGE_SIZE)?;
            let count = args.samples.unwrap_or(DEFAULT_SAMPLES).min(train.len());
            eprintln!("images: the first {count} of the training set");
            (train.unit_range(0..count).to_vec(), json!({ "train_images": count }))
        }
    };
    let (features, probabilities) = meter.classify(&pixels)?;
    if let Some(path) = &args.save_features {
        let dim = classifier.config.feature_dim;
        write_npy(path, &features, &[(features.len() / dim) as u64, dim as u64])?;
    }
    let quality = meter.measure_features(&features, &probabilities)?;
    if args.json {
        fill_report(&mut report, &quality, &classifier, &source);
        println!("{report}");
    } else {
        print_table(&quality, &classifier, &source);
    }
    Ok(())
}

/// Images `[N, 1, 32, 32]` (or `[N, 32, 32]`) float32 in [-1, 1] from a NumPy file.
fn read_images(path: &Path) -> anyhow::Result<Vec<f32>> {
    let (pixels, shape) = read_npy(path).with_context(|| format!("reading {}", path.display()))?;
    let size = CLASSIFIER_IMAGE_SIZE as u64;
    let fits = matches!(shape.as_slice(), [_, 1, h, w] | [_, h, w] if *h == size && *w == size);
    if !fits || pixels.is_empty() {
        return Err(UserError(format!(
            "{}: shape {shape:?}; expected [N, 1, {size}, {size}] or [N, {size}, {size}] float32 in [-1, 1]",
            path.display()
        ))
        .into());
    }
    if let Some(bad) = pixels.iter().find(|v| !(-1.0..=1.0).contains(*v)) {
        return Err(UserError(format!(
            "{}: value {bad} is outside [-1, 1]; scale images as x / 127.5 − 1",
            path.display()
        ))
        .into());
    }
    Ok(pixels)
}

fn fill_report(
    report: &mut serde_json::Value,
    quality: &Quality,
    classifier: &ClassifierInfo,
    source: &ClassifierSource,
) {
    report["samples"] = quality.samples.into();
    report["fd_fmnist"] = quality.fd_fmnist.into();
    report["inception_score"] = quality.inception_score.mean.into();
    report["inception_score_std"] = quality.inception_score.std.into();
    report["kid"] = quality.kid.mean.into();
    report["kid_std"] = quality.kid.std.into();
    report["kid_subsets"] = quality.kid.subsets.into();
    report["kid_subset_size"] = quality.kid.subset_size.into();
    report["precision"] = quality.precision_recall.precision.into();
    report["recall"] = quality.precision_recall.recall.into();
    report["classifier"] = source.describe().into();
    report["classifier_sha256"] = classifier.sha256.clone().into();
    report["reference_classifier"] = classifier.is_reference.into();
}

fn print_table(quality: &Quality, classifier: &ClassifierInfo, source: &ClassifierSource) {
    println!("FD-FMNIST        {:.3}", quality.fd_fmnist);
    println!(
        "Inception Score  {:.3} ± {:.3} ({IS_SPLITS} splits)",
        quality.inception_score.mean, quality.inception_score.std
    );
    println!(
        "KID              {:.5} ± {:.5} ({} subsets of {})",
        quality.kid.mean, quality.kid.std, quality.kid.subsets, quality.kid.subset_size
    );
    println!("precision        {:.4}", quality.precision_recall.precision);
    println!("recall           {:.4}", quality.precision_recall.recall);
    println!("samples          {}", quality.samples);
    let scale = if classifier.is_reference {
        "reference".to_string()
    } else {
        format!("NOT the reference: {}", source.describe())
    };
    println!("classifier       {scale} (sha256 {})", &classifier.sha256[..16]);
}

/// The classifier from `source` with the statistics of the Fashion-MNIST test set at
/// `size`, and its description.
pub fn quality_meter<B: Backend>(
    source: &ClassifierSource,
    data: Option<PathBuf>,
    size: usize,
    device: &B::Device,
) -> anyhow::Result<(QualityMeter<B>, ClassifierInfo)> {
    let classifier = load_classifier::<B>(source, device).with_context(|| {
        format!(
            "loading the classifier from {} (train one with `wgan classifier train --out FILE`, or leave \
             data.classifier / --classifier out to use the shipped reference)",
            source.describe()
        )
    })?;
    let config = &classifier.info.config;
    if config.image_size != size {
        return Err(UserError(format!(
            "the generator makes {size}×{size} images; the classifier in {} takes {}×{}",
            source.describe(),
            config.image_size,
            config.image_size
        ))
        .into());
    }
    if !classifier.info.is_reference {
        eprintln!(
            "note: {} is not the reference classifier; its numbers are not comparable with reference FD-FMNIST",
            source.describe()
        );
    }
    let test_set = load_split(Split::Test, data, size)?;
    let meter = QualityMeter::new(classifier.classifier, config.feature_dim, &test_set, device)?;
    Ok((meter, classifier.info))
}
