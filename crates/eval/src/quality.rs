//! The measurement protocol: FD-FMNIST and the classifier Inception Score of a generator.
//!
//! - Reference: the 10 000 Fashion-MNIST test images, resized to 32×32 like the training data.
//! - Samples: [`DEFAULT_SAMPLES`] images from the generator (BatchNorm in inference mode),
//!   noise from the fixed-noise stream of [`EVAL_NOISE_SEED`], so every run and checkpoint is
//!   measured on the same noise.
//! - Features: the classifier's penultimate layer; statistics in f64.
//! - FD: Gaussians fitted to all samples and all reference images.
//! - IS: classifier probabilities, [`IS_SPLITS`] splits, mean ± std.
//! - KID: disjoint subsets of [`crate::KID_SUBSET_SIZE`] in order, mean ± std.
//! - Precision and recall: k-NN manifolds with k = [`crate::NEAREST_NEIGHBOURS`] over all
//!   samples and all reference images.

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};
use wgan_data::ImageSet;
use wgan_model::Generator;

use crate::{
    CLASSES, Classifier, EvalError, FeatureSet, Gaussian, InceptionScore, KernelDistance, NEAREST_NEIGHBOURS,
    PrecisionRecall, frechet_distance, inception_score, kernel_inception_distance, manifold_radii, precision_recall,
};

/// Samples per measurement unless told otherwise (the size of the reference set).
pub const DEFAULT_SAMPLES: usize = 10_000;
/// Splits of the Inception Score.
pub const IS_SPLITS: usize = 10;
/// Seed of the noise behind the measured samples.
pub const EVAL_NOISE_SEED: u64 = 0;
/// Images per classifier forward pass.
const CHUNK: usize = 500;

/// One measurement.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    /// Fréchet distance to the reference set in the classifier's feature space.
    pub fd_fmnist: f64,
    /// Classifier-based Inception Score.
    pub inception_score: InceptionScore,
    /// Kernel Inception Distance to the reference set in the same features.
    pub kid: KernelDistance,
    /// Precision and recall against the reference set.
    pub precision_recall: PrecisionRecall,
    /// Images measured.
    pub samples: usize,
}

/// Features `[N, feature_dim]` and class probabilities `[N, 10]` of `pixels`
/// (`[N, 1, size, size]` row-major, in [-1, 1]).
pub fn classify<B: Backend>(
    classifier: &Classifier<B>,
    pixels: &[f32],
    size: usize,
    device: &B::Device,
) -> (Vec<f32>, Vec<f32>) {
    let image = size * size;
    let mut features = Vec::new();
    let mut probabilities = Vec::new();
    for chunk in pixels.chunks(CHUNK * image) {
        let rows = chunk.len() / image;
        let images = Tensor::<B, 4>::from_data(TensorData::new(chunk.to_vec(), [rows, 1, size, size]), device);
        let (f, p) = classifier.features_and_probabilities(images);
        features.extend(f.into_data().convert::<f32>().to_vec::<f32>().unwrap_or_default());
        probabilities.extend(p.into_data().convert::<f32>().to_vec::<f32>().unwrap_or_default());
    }
    (features, probabilities)
}

/// The classifier with the statistics of the reference set, ready to measure sample sets.
pub struct QualityMeter<B: Backend> {
    classifier: Classifier<B>,
    feature_dim: usize,
    image_size: usize,
    reference: Gaussian,
    reference_features: FeatureSet,
    /// Squared k-NN radii of the reference features.
    reference_radii: Vec<f64>,
    device: B::Device,
}

impl<B: Backend> QualityMeter<B> {
    /// Fits the reference statistics of `reference` (the test set) in `classifier`'s features.
    pub fn new(
        classifier: Classifier<B>,
        feature_dim: usize,
        reference: &ImageSet,
        device: &B::Device,
    ) -> Result<Self, EvalError> {
        let (features, _) = classify(&classifier, &reference.unit_pixels(), reference.size(), device);
        let reference_features = FeatureSet::new(&features, feature_dim)?;
        Ok(Self {
            reference: Gaussian::fit(&features, feature_dim)?,
            reference_radii: manifold_radii(&reference_features, NEAREST_NEIGHBOURS)?,
            reference_features,
            classifier,
            feature_dim,
            image_size: reference.size(),
            device: device.clone(),
        })
    }

    /// Every metric of `pixels`, `[N, 1, size, size]` row-major in [-1, 1].
    pub fn measure_images(&self, pixels: &[f32]) -> Result<Quality, EvalError> {
        let (features, probabilities) = self.classify(pixels)?;
        self.measure_features(&features, &probabilities)
    }

    /// Features `[N, feature_dim]` and class probabilities `[N, 10]` of `pixels`,
    /// `[N, 1, size, size]` row-major in [-1, 1].
    pub fn classify(&self, pixels: &[f32]) -> Result<(Vec<f32>, Vec<f32>), EvalError> {
        let image = self.image_size * self.image_size;
        if pixels.is_empty() || !pixels.len().is_multiple_of(image) {
            return Err(EvalError::Shape(format!(
                "{} pixel values are not {}×{} one-channel images",
                pixels.len(),
                self.image_size,
                self.image_size
            )));
        }
        Ok(classify(&self.classifier, pixels, self.image_size, &self.device))
    }

    /// Every metric of samples with `features` `[N, feature_dim]` and `probabilities` `[N, 10]`.
    pub fn measure_features(&self, features: &[f32], probabilities: &[f32]) -> Result<Quality, EvalError> {
        let samples = FeatureSet::new(features, self.feature_dim)?;
        let gaussian = Gaussian::fit(features, self.feature_dim)?;
        Ok(Quality {
            fd_fmnist: frechet_distance(&gaussian, &self.reference)?,
            inception_score: inception_score(probabilities, CLASSES, IS_SPLITS)?,
            kid: kernel_inception_distance(&samples, &self.reference_features)?,
            precision_recall: precision_recall(&samples, &self.reference_features, &self.reference_radii)?,
            samples: samples.len(),
        })
    }

    /// Every metric of `count` samples of `generator` (latent size `latent_dim`).
    pub fn measure_generator(
        &self,
        generator: &Generator<B>,
        latent_dim: usize,
        count: usize,
    ) -> Result<Quality, EvalError> {
        let (_, pixels) = wgan_train::sample(generator, latent_dim, count, EVAL_NOISE_SEED, &self.device)?;
        self.measure_images(&pixels)
    }

    /// Side length of the images this meter takes.
    pub fn image_size(&self) -> usize {
        self.image_size
    }
}

impl<B: Backend> wgan_train::QualityProbe<B> for QualityMeter<B> {
    fn measure(
        &mut self,
        generator: &Generator<B>,
        latent_dim: usize,
        samples: usize,
    ) -> Result<wgan_train::QualityPoint, wgan_train::QualityError> {
        let quality = self.measure_generator(generator, latent_dim, samples)?;
        Ok(wgan_train::QualityPoint {
            fd_fmnist: quality.fd_fmnist,
            inception_score: quality.inception_score.mean,
            inception_score_std: quality.inception_score.std,
            kid: Some(quality.kid.mean),
            kid_std: Some(quality.kid.std),
            precision: Some(quality.precision_recall.precision),
            recall: Some(quality.precision_recall.recall),
        })
    }
}
