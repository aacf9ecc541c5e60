//! Training the feature classifier: Adam on cross-entropy, seeded end to end.

use std::time::Instant;

use burn::module::AutodiffModule;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use wgan_data::{ImageSet, ShuffledBatches};

use crate::{Classifier, ClassifierConfig, EvalError};

/// How the classifier is trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierTraining {
    /// Seeds the weights, the data order and the dropout masks.
    pub seed: u64,
    /// Passes over the training set.
    pub epochs: usize,
    /// Images per Adam step.
    pub batch_size: usize,
    /// Adam's initial step size (β = 0.9, 0.999), decayed to 0 on a half-cosine.
    pub learning_rate: f64,
    /// Probability of zeroing a feature during training.
    pub dropout: f64,
    /// Whether each training image is mirrored left–right with probability ½.
    pub flip: bool,
}

impl Default for ClassifierTraining {
    fn default() -> Self {
        Self {
            seed: 0,
            epochs: 5,
            batch_size: 128,
            learning_rate: 1e-3,
            dropout: 0.3,
            flip: false,
        }
    }
}

/// Progress of classifier training, reported after every batch.
#[derive(Debug, Clone, Copy)]
pub struct ClassifierProgress {
    /// 1-based epoch.
    pub epoch: usize,
    /// Batches done in all epochs so far.
    pub batch: usize,
    /// Batches in all epochs.
    pub total_batches: usize,
    /// Mean cross-entropy of this batch (nats).
    pub loss: f64,
}

/// A trained classifier and how well it does on held-out images.
pub struct TrainedClassifier<B: Backend> {
    /// The network, without autodiff.
    pub classifier: Classifier<B>,
    /// Its architecture.
    pub config: ClassifierConfig,
    /// How it was trained.
    pub training: ClassifierTraining,
    /// Fraction of the test images classified correctly.
    pub test_accuracy: f64,
    /// Wall-clock seconds spent training.
    pub seconds: f64,
}

/// Trains a classifier on `train` and measures its accuracy on `test`.
pub fn train_classifier<B: AutodiffBackend>(
    config: &ClassifierConfig,
    training: &ClassifierTraining,
    train: &ImageSet,
    test: &ImageSet,
    device: &B::Device,
    mut progress: impl FnMut(ClassifierProgress),
) -> Result<TrainedClassifier<B::InnerBackend>, EvalError> {
    if train.size() != config.image_size || test.size() != config.image_size {
        return Err(EvalError::Shape(format!(
            "images are {}×{} (train) and {}×{} (test); the classifier takes {}×{}",
            train.size(),
            train.size(),
            test.size(),
            test.size(),
            config.image_size,
            config.image_size
        )));
    }
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(training.seed);
    let mut model = Classifier::<B>::new(config, &mut rng, device);
    let mut optimizer = AdamConfig::new().init::<B, Classifier<B>>();
    let mut batches = ShuffledBatches::new(train.len(), training.batch_size, training.seed ^ 0x5eed_da7a)?;
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let total_batches = training.epochs * batches.batches_per_epoch();
    let keep = 1.0 - training.dropout;
    for batch in 0..total_batches {
        let indices = batches.next_batch();
        let images = augmented_batch::<B>(train, &indices, training.flip, &mut rng, device);
        let labels: Vec<i64> = indices.iter().map(|&i| i64::from(train.labels()[i as usize])).collect();
        let targets = Tensor::<B, 1, Int>::from_data(TensorData::new(labels, [indices.len()]), device);
        let features = model.features(images);
        let mask: Vec<f32> = (0..indices.len() * config.feature_dim)
            .map(|_| {
                if rng.random_bool(keep) {
                    (1.0 / keep) as f32
                } else {
                    0.0
                }
            })
            .collect();
        let mask = Tensor::<B, 2>::from_data(TensorData::new(mask, [indices.len(), config.feature_dim]), device);
        let logits = model.logits_from_features(features * mask);
        let loss = loss_fn.forward(logits, targets);
        let loss_value = loss
            .clone()
            .into_data()
            .convert::<f64>()
            .to_vec::<f64>()
            .unwrap_or_default();
        let loss_value = loss_value.first().copied().unwrap_or(f64::NAN);
        if !loss_value.is_finite() {
            return Err(EvalError::NonFinite("classifier training loss"));
        }
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let progress_fraction = batch as f64 / total_batches as f64;
        let learning_rate = training.learning_rate * 0.5 * (1.0 + (std::f64::consts::PI * progress_fraction).cos());
        model = optimizer.step(learning_rate, model, grads);
        progress(ClassifierProgress {
            epoch: batch / batches.batches_per_epoch() + 1,
            batch: batch + 1,
            total_batches,
            loss: loss_value,
        });
    }
    let classifier = model.valid();
    let test_accuracy = accuracy(&classifier, test, device);
    Ok(TrainedClassifier {
        classifier,
        config: config.clone(),
        training: training.clone(),
        test_accuracy,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The images at `indices`, each mirrored left–right with probability ½ if `flip`.
///
/// # Shapes
/// - output: `[indices.len(), 1, size, size]`
fn augmented_batch<B: Backend>(
    images: &ImageSet,
    indices: &[u32],
    flip: bool,
    rng: &mut impl Rng,
    device: &B::Device,
) -> Tensor<B, 4> {
    let flips: Vec<bool> = indices.iter().map(|_| flip && rng.random_bool(0.5)).collect();
    images.batch(indices, Some(&flips), device)
}

/// Fraction of `images` whose most probable class is their label.
pub fn accuracy<B: Backend>(classifier: &Classifier<B>, images: &ImageSet, device: &B::Device) -> f64 {
    const CHUNK: usize = 500;
    let mut correct = 0usize;
    for start in (0..images.len()).step_by(CHUNK) {
        let indices: Vec<u32> = (start..(start + CHUNK).min(images.len())).map(|i| i as u32).collect();
        let predicted = classifier
            .forward(images.batch::<B>(&indices, None, device))
            .argmax(1)
            .into_data()
            .convert::<i64>()
            .to_vec::<i64>()
            .unwrap_or_default();
        correct += indices
            .iter()
            .zip(predicted)
            .filter(|(i, p)| i64::from(images.labels()[**i as usize]) == *p)
            .count();
    }
    correct as f64 / images.len().max(1) as f64
}
