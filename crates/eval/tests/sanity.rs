//! Sanity checks of FD-FMNIST and the classifier Inception Score; each can fail.
//!
//! The checks on real images train a small classifier on part of the Fashion-MNIST training
//! set (about a minute) and skip, saying so, when the Debian package's files are absent.

mod common;

use burn::backend::{Autodiff, Flex};
use common::real_train_and_test;
use rand::{Rng, SeedableRng};
use wgan_data::ImageSet;
use wgan_eval::{
    CLASSES, Classifier, ClassifierConfig, ClassifierTraining, Gaussian, QualityMeter, classify, frechet_distance,
    inception_score, train_classifier,
};

type Ad = Autodiff<Flex>;

/// `count` images of the given size: random blobs, distinct for each `seed`.
fn synthetic_images(count: usize, size: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut pixels = Vec::with_capacity(count * size * size);
    for _ in 0..count {
        let (cx, cy, r) = (
            rng.random_range(8.0..24.0),
            rng.random_range(8.0..24.0),
            rng.random_range(3.0..10.0f32),
        );
        for y in 0..size {
            for x in 0..size {
                let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
                pixels.push(if d < r { 1.0 } else { -1.0 });
            }
        }
    }
    pixels
}

#[test]
fn fd_of_a_set_with_itself_is_zero_and_fd_is_symmetric() {
    let device = Default::default();
    let config = ClassifierConfig::default();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let classifier = Classifier::<Flex>::new(&config, &mut rng, &device);
    let fit = |seed| {
        let (features, _) = classify(&classifier, &synthetic_images(600, 32, seed), 32, &device);
        Gaussian::fit(&features, config.feature_dim).unwrap()
    };
    let (a, b) = (fit(1), fit(2));
    // The terms FD is a difference of are of the order of the covariance traces; round-off
    // is relative to them.
    let scale = a.covariance.trace() + b.covariance.trace();
    assert!(scale > 0.0);

    let same = frechet_distance(&a, &a).unwrap();
    assert!(same <= 1e-6 * scale, "FD(A, A) = {same} (trace {scale})");
    let (ab, ba) = (frechet_distance(&a, &b).unwrap(), frechet_distance(&b, &a).unwrap());
    assert!(ab > 1e-3 * scale, "different sets are apart: {ab}");
    assert!((ab - ba).abs() <= 1e-9 * scale, "FD(A, B) = {ab}, FD(B, A) = {ba}");
    println!("FD(A, A) = {same:.2e}, FD(A, B) = {ab:.9}, FD(B, A) = {ba:.9} (tr Σ_A + tr Σ_B = {scale:.4})");
}

fn subset(set: &ImageSet, range: std::ops::Range<usize>) -> ImageSet {
    set.subset(range)
}

#[test]
fn real_images_score_well_and_noise_scores_badly() {
    let Some((train, test)) = real_train_and_test() else {
        return;
    };
    let device = Default::default();
    let config = ClassifierConfig::default();
    let training = ClassifierTraining {
        epochs: 2,
        ..ClassifierTraining::default()
    };
    let trained =
        train_classifier::<Ad>(&config, &training, &subset(&train, 0..12_800), &test, &device, |_| {}).unwrap();
    println!(
        "classifier: 2 epochs on 12 800 images, test accuracy {:.1}%",
        100.0 * trained.test_accuracy
    );
    assert!(trained.test_accuracy > 0.7, "{}", trained.test_accuracy);
    let meter = QualityMeter::new(trained.classifier.clone(), config.feature_dim, &test, &device).unwrap();

    let real = meter
        .measure_images(&subset(&train, 50_000..55_000).unit_pixels())
        .unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let noise: Vec<f32> = (0..5_000 * 32 * 32).map(|_| rng.random_range(-1.0..1.0)).collect();
    let noise = meter.measure_images(&noise).unwrap();
    println!(
        "FD-FMNIST: train subset {:.3}, uniform noise {:.3}; IS: train subset {:.2} ± {:.2}, noise {:.2}",
        real.fd_fmnist,
        noise.fd_fmnist,
        real.inception_score.mean,
        real.inception_score.std,
        noise.inception_score.mean
    );
    assert!(noise.fd_fmnist > 20.0 * real.fd_fmnist, "noise is far, real data near");

    // IS of real test images is high; of one image repeated, 1.
    let (_, probabilities) = classify(&trained.classifier, &test.unit_pixels(), 32, &device);
    let score = inception_score(&probabilities, CLASSES, 10).unwrap();
    let one = test.unit_range(0..1).repeat(1_000);
    let (_, repeated) = classify(&trained.classifier, &one, 32, &device);
    let single = inception_score(&repeated, CLASSES, 10).unwrap();
    println!(
        "IS: test set {:.2} ± {:.2}, one repeated image {:.4}",
        score.mean, score.std, single.mean
    );
    // A 2-epoch classifier is less confident than the shipped one (IS of real images 8.2),
    // but real images still score far above noise and a single image.
    assert!(score.mean > 5.0, "{score:?}");
    assert!(
        score.mean > 2.5 * noise.inception_score.mean,
        "{score:?} vs noise {:?}",
        noise.inception_score
    );
    assert!((single.mean - 1.0).abs() < 1e-3, "{single:?}");
}
