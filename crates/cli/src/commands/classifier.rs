//! `wgan classifier train`: the feature classifier of FD-FMNIST and the Inception Score.

use anyhow::Context;
use wgan_data::Split;
use wgan_eval::{ClassifierConfig, ClassifierTraining, REFERENCE_CLASSIFIER_SHA256, save_classifier, train_classifier};

use crate::UserError;
use crate::args::ClassifierTrainArgs;
use crate::dataset::load_split;
use crate::device::{self, with_backend};

/// Trains, reports the test accuracy, and saves the classifier.
pub fn train(args: &ClassifierTrainArgs) -> anyhow::Result<()> {
    if args.epochs == 0 {
        return Err(UserError("--epochs must be at least 1".into()).into());
    }
    let config = ClassifierConfig::default();
    let training = ClassifierTraining {
        seed: args.seed,
        epochs: args.epochs,
        ..ClassifierTraining::default()
    };
    let mut train_set = load_split(Split::Train, args.data.clone(), config.image_size)?;
    if let Some(limit) = args.limit {
        if limit < training.batch_size {
            return Err(UserError(format!(
                "--limit must be at least the batch size, {}",
                training.batch_size
            ))
            .into());
        }
        train_set.truncate(limit);
    }
    let test_set = load_split(Split::Test, args.data.clone(), config.image_size)?;
    eprintln!(
        "training the classifier: {} images, {} epochs, batch {}, seed {}",
        train_set.len(),
        training.epochs,
        training.batch_size,
        training.seed
    );
    let device = device::select(args.device)?;
    let mut running = 0.0;
    let mut report = |p: wgan_eval::ClassifierProgress| {
        running = if p.batch == 1 {
            p.loss
        } else {
            0.98 * running + 0.02 * p.loss
        };
        if p.batch.is_multiple_of(50) || p.batch == p.total_batches {
            eprintln!(
                "epoch {} batch {}/{}: loss {running:.4}",
                p.epoch, p.batch, p.total_batches
            );
        }
    };
    // The trained network's type depends on the backend, so it is saved inside.
    let (test_accuracy, seconds, sha256) = with_backend!(&device, |B, handle| {
        let trained = train_classifier::<B>(&config, &training, &train_set, &test_set, &handle, &mut report)?;
        let sha256 = save_classifier(&trained, &args.out)
            .with_context(|| format!("saving the classifier to {}", args.out.display()))?;
        (trained.test_accuracy, trained.seconds, sha256)
    });
    println!(
        "test accuracy {:.2}% ({} test images), {:.0} s; saved to {}",
        100.0 * test_accuracy,
        test_set.len(),
        seconds,
        args.out.display()
    );
    if sha256 == REFERENCE_CLASSIFIER_SHA256 {
        println!("sha256 {sha256}: byte for byte the reference classifier");
    } else {
        println!(
            "sha256 {sha256}: NOT the reference classifier ({REFERENCE_CLASSIFIER_SHA256}); \
             numbers measured with it are not on the reference scale (pass it with --classifier or data.classifier)"
        );
    }
    Ok(())
}
