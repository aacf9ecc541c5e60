//! Measured sample quality on Fashion-MNIST, offline and with a fixed protocol.
//!
//! A small CNN classifier trained on Fashion-MNIST defines a feature space (its penultimate
//! layer). **FD-FMNIST** is the Fréchet distance between Gaussians fitted to the features of
//! generated samples and of the test set; it is *not* Inception FID and its values are not
//! comparable with FID numbers. The **Inception Score** uses the same classifier's
//! probabilities in place of Inception's. **KID** and **precision / recall** are measured in
//! the same features. The classifier that defines them all ships with wgan (see
//! `classifier_file`), so the numbers are comparable across machines and frameworks.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod classifier;
mod classifier_file;
mod classifier_training;
mod error;
mod features;
mod frechet;
mod inception_score;
mod kid;
mod moments;
mod precision_recall;
mod quality;

pub use classifier::{CLASSES, Classifier, ClassifierConfig, ConvBlock};
pub use classifier_file::{
    ClassifierInfo, ClassifierSource, DEFAULT_CLASSIFIER_PATH, LoadedClassifier, REFERENCE_CLASSIFIER_SHA256,
    load_classifier, save_classifier,
};
pub use classifier_training::{ClassifierProgress, ClassifierTraining, TrainedClassifier, accuracy, train_classifier};
pub use error::EvalError;
pub use features::FeatureSet;
pub use frechet::{Gaussian, frechet_distance};
pub use inception_score::{InceptionScore, inception_score};
pub use kid::{KID_SUBSET_SIZE, KernelDistance, kernel_inception_distance, unbiased_mmd2};
pub use precision_recall::{NEAREST_NEIGHBOURS, PrecisionRecall, manifold_radii, precision_recall};
pub use quality::{DEFAULT_SAMPLES, EVAL_NOISE_SEED, IS_SPLITS, Quality, QualityMeter, classify};
