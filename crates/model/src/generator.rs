//! The generator: z ~ N(0, I) to images in [-1, 1].

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Linear};
use burn::tensor::{Tensor, activation, backend::Backend};
use rand::Rng;
use wgan_ops::{batch_norm, conv2d, relu, upsample_bilinear_2x};

use crate::init::{conv, linear};
use crate::{ModelConfig, ModelError};

/// One ×2 stage: bilinear upsample → conv 'same' → BatchNorm → ReLU.
#[derive(Module, Debug)]
pub struct GeneratorBlock<B: Backend> {
    /// Convolution after the upsample, stride 1, 'same' padding.
    pub conv: Conv2d<B>,
    /// BatchNorm over the conv's output channels.
    pub norm: BatchNorm<B>,
}

/// The seed's generator (see [`ModelConfig`] for the layer list).
#[derive(Module, Debug)]
pub struct Generator<B: Backend> {
    /// Linear projection of z to the first feature map, flattened.
    pub project: Linear<B>,
    /// BatchNorm over the flattened projection (one statistic per unit, as in Keras).
    pub project_norm: BatchNorm<B>,
    /// Upsampling stages from 4×4 to `image_size / 2`.
    pub blocks: Vec<GeneratorBlock<B>>,
    /// Last convolution to the image channels, after a final upsample.
    pub output: Conv2d<B>,
    /// Channels of the first (4×4) feature map.
    pub base_channels: usize,
    /// Length of z.
    pub latent_dim: usize,
}

/// BatchNorm over `features` channels with γ = 1, β = 0.
pub(crate) fn new_batch_norm<B: Backend>(config: &ModelConfig, features: usize, device: &B::Device) -> BatchNorm<B> {
    burn::nn::BatchNormConfig::new(features)
        .with_epsilon(config.batch_norm.epsilon)
        .with_momentum(config.batch_norm.momentum)
        .init(device)
}

impl<B: Backend> Generator<B> {
    /// Builds a freshly initialised generator with weights drawn from `rng`.
    pub fn new(config: &ModelConfig, rng: &mut impl Rng, device: &B::Device) -> Result<Self, ModelError> {
        config.validate()?;
        let base = ModelConfig::BASE_SIZE;
        let base_channels = config.generator_base_channels();
        let projected = base_channels * base * base;
        let project = linear(config.latent_dim, projected, rng, device);
        let blocks = config
            .generator_widths
            .windows(2)
            .map(|pair| {
                let channels = [config.dim * pair[0], config.dim * pair[1]];
                GeneratorBlock {
                    conv: conv(channels, config.kernel_size, 1, true, rng, device),
                    norm: new_batch_norm(config, channels[1], device),
                }
            })
            .collect();
        let last_width = config.dim * config.generator_widths[config.generator_widths.len() - 1];
        Ok(Self {
            project,
            project_norm: new_batch_norm(config, projected, device),
            blocks,
            output: conv([last_width, config.channels], config.kernel_size, 1, true, rng, device),
            base_channels,
            latent_dim: config.latent_dim,
        })
    }

    /// Maps noise to images.
    ///
    /// BatchNorm uses batch statistics (and updates its running averages) on an autodiff
    /// backend, and the running averages otherwise.
    ///
    /// # Shapes
    /// - `noise`: `[batch, latent_dim]`
    /// - output: `[batch, channels, image_size, image_size]`, pixels in [-1, 1]
    pub fn forward(&self, noise: Tensor<B, 2>) -> Tensor<B, 4> {
        let [batch, _] = noise.dims();
        let base = ModelConfig::BASE_SIZE;
        let x = self.project.forward(noise); // [B, C0·4·4]
        let x = relu(batch_norm(&self.project_norm, x));
        let mut x = x.reshape([batch, self.base_channels, base, base]); // [B, C0, 4, 4]
        for block in &self.blocks {
            let up = upsample_bilinear_2x(x); // [B, C, 2s, 2s]
            x = relu(batch_norm(&block.norm, conv2d(&block.conv, up)));
        }
        activation::tanh(conv2d(&self.output, upsample_bilinear_2x(x)))
    }

    /// Every BatchNorm layer, input side first.
    pub fn batch_norms_mut(&mut self) -> impl Iterator<Item = &mut BatchNorm<B>> {
        std::iter::once(&mut self.project_norm).chain(self.blocks.iter_mut().map(|block| &mut block.norm))
    }

    /// Like [`Generator::forward`], but checks the noise shape first.
    pub fn try_forward(&self, noise: Tensor<B, 2>) -> Result<Tensor<B, 4>, ModelError> {
        let dims = noise.dims();
        if dims[1] != self.latent_dim {
            return Err(ModelError::InputShape {
                network: "generator",
                expected: vec![0, self.latent_dim],
                actual: dims.to_vec(),
            });
        }
        Ok(self.forward(noise))
    }
}
