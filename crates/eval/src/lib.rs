//! Measured sample quality on Fashion-MNIST, offline and with a fixed protocol.
//!
//! A small CNN classifier trained on Fashion-MNIST defines a feature space (its penultimate
//! layer). **FD-FMNIST** is the Fréchet distance between Gaussians fitted to the features of
//! generated samples and of the test set; it is *not* Inception FID and its values are not
//! comparable with FID numbers. The **Inception Score** uses the same classifier's
//! probabilities in place of Inception's.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod classifier;
mod classifier_file;
mod classifier_training;
mod error;
mod frechet;
mod inception_score;
mod quality;

pub use classifier::{CLASSES, Classifier, ClassifierConfig, ConvBlock};
pub use classifier_file::{
    ClassifierInfo, DEFAULT_CLASSIFIER_PATH, LoadedClassifier, load_classifier, save_classifier,
};
pub use classifier_training::{ClassifierProgress, ClassifierTraining, TrainedClassifier, accuracy, train_classifier};
pub use error::EvalError;
pub use frechet::{Gaussian, frechet_distance};
pub use inception_score::{InceptionScore, inception_score};
pub use quality::{DEFAULT_SAMPLES, EVAL_NOISE_SEED, IS_SPLITS, Quality, QualityMeter, classify};
