//! The Fashion-MNIST classifier whose penultimate layer is the feature space of FD-FMNIST.
//!
//! ```text
//! x [N, 1, 32, 32] in [-1, 1]
//!   conv 5×5 stride 2 + bias → ReLU                           [N, 32, 16, 16]
//!   2 × (conv 3×3 'same' + bias → ReLU → max-pool 2×2)        [N, 64, 8, 8], [N, 128, 4, 4]
//!   flatten [N, 128·4·4] → dense 256 → ReLU                   = features [N, 256]
//!   dense 10                                                  = logits   [N, 10]
//! ```
//!
//! Training applies dropout to the features with masks drawn on the host (see
//! `classifier_training`), so that a training run is a function of its seed. The shape is
//! chosen for the flex CPU backend: no BatchNorm (it costs several times the convolution it
//! follows there) and no full-resolution layer (few channels at 32×32 run far below the
//! backend's throughput), so that training to > 91 % takes minutes on two cores.
//! ```text
//! ```

use burn::module::Module;
use burn::nn::Linear;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::tensor::Tensor;
use burn::tensor::activation::{relu, softmax};
use burn::tensor::backend::Backend;
use rand::Rng;
use serde::{Deserialize, Serialize};
use wgan_model::init;

/// Number of Fashion-MNIST classes.
pub const CLASSES: usize = 10;

/// The classifier's architecture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassifierConfig {
    /// Input side length in pixels (a power of two, at least 8).
    pub image_size: usize,
    /// Channels of the stride-2 stem and of the two pooled convolution blocks.
    pub widths: [usize; 3],
    /// Width of the penultimate (feature) layer.
    pub feature_dim: usize,
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        Self {
            image_size: 32,
            widths: [32, 64, 128],
            feature_dim: 256,
        }
    }
}

/// One conv → ReLU → max-pool block; halves the side length.
#[derive(Module, Debug)]
pub struct ConvBlock<B: Backend> {
    pub(crate) conv: Conv2d<B>,
    pool: MaxPool2d,
}

impl<B: Backend> ConvBlock<B> {
    fn new(channels: [usize; 2], rng: &mut impl Rng, device: &B::Device) -> Self {
        Self {
            conv: init::conv(channels, 3, 1, true, rng, device),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
        }
    }

    /// `[N, C_in, S, S] → [N, C_out, S/2, S/2]`.
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.pool.forward(relu(self.conv.forward(x)))
    }
}

/// The feature classifier.
#[derive(Module, Debug)]
pub struct Classifier<B: Backend> {
    pub(crate) stem: Conv2d<B>,
    pub(crate) blocks: Vec<ConvBlock<B>>,
    pub(crate) features: Linear<B>,
    pub(crate) logits: Linear<B>,
}

impl<B: Backend> Classifier<B> {
    /// A classifier with weights drawn from `rng` (Glorot-uniform, zero biases).
    pub fn new(config: &ClassifierConfig, rng: &mut impl Rng, device: &B::Device) -> Self {
        let [a, b, c] = config.widths;
        let stem = init::conv([1, a], 5, 2, true, rng, device);
        let blocks = [[a, b], [b, c]]
            .into_iter()
            .map(|channels| ConvBlock::new(channels, rng, device))
            .collect();
        let side = config.image_size / 8;
        Self {
            stem,
            blocks,
            features: init::linear(c * side * side, config.feature_dim, rng, device),
            logits: init::linear(config.feature_dim, CLASSES, rng, device),
        }
    }

    /// Penultimate features `[N, feature_dim]` (after the ReLU) of images `[N, 1, S, S]`.
    pub fn features(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        let stem = relu(self.stem.forward(images));
        let x = self.blocks.iter().fold(stem, |x, block| block.forward(x));
        relu(self.features.forward(x.flatten(1, 3)))
    }

    /// Class logits `[N, 10]` from features `[N, feature_dim]`.
    pub fn logits_from_features(&self, features: Tensor<B, 2>) -> Tensor<B, 2> {
        self.logits.forward(features)
    }

    /// Class logits `[N, 10]` of images `[N, 1, S, S]`.
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.logits_from_features(self.features(images))
    }

    /// `(features [N, feature_dim], class probabilities [N, 10])` of images `[N, 1, S, S]`.
    pub fn features_and_probabilities(&self, images: Tensor<B, 4>) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let features = self.features(images);
        let probabilities = softmax(self.logits_from_features(features.clone()), 1);
        (features, probabilities)
    }
}
