//! The critic: images to an unbounded score (higher means "more real").

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Linear};
use burn::tensor::{Tensor, backend::Backend};

use rand::Rng;
use wgan_ops::{batch_norm, conv2d, leaky_relu};

use crate::generator::new_batch_norm;
use crate::init::{conv, linear};
use crate::{CriticNorm, ModelConfig, ModelError};

/// One stride-2 stage: conv 'same' → [BatchNorm] → LeakyReLU.
#[derive(Module, Debug)]
pub struct CriticBlock<B: Backend> {
    /// 5×5 convolution, stride 2, padded by 2 on every side: the output is half the input
    /// ('same' size). Keras pads (1, 2) instead, which shifts the sampling grid by one pixel;
    /// symmetric padding keeps the conv on burn's fast path and matches PyTorch's `padding=2`.
    pub conv: Conv2d<B>,
    /// BatchNorm (WGAN critic, every block but the first) or nothing.
    pub norm: Option<BatchNorm<B>>,
}

/// The seed's critic (see [`ModelConfig`] for the layer list).
#[derive(Module, Debug)]
pub struct Critic<B: Backend> {
    /// Stride-2 stages from `image_size` down to 4×4.
    pub blocks: Vec<CriticBlock<B>>,
    /// Linear map of the flattened last feature map to one score. Weight `[4·4·C, 1]`.
    pub output: Linear<B>,
    /// Negative slope of every LeakyReLU.
    pub leaky_relu_slope: f64,
    /// Expected input: `[channels, image_size, image_size]`.
    pub input_channels: usize,
    /// Expected input height and width.
    pub image_size: usize,
}

impl<B: Backend> Critic<B> {
    /// Builds a freshly initialised critic with weights drawn from `rng`.
    pub fn new(config: &ModelConfig, rng: &mut impl Rng, device: &B::Device) -> Result<Self, ModelError> {
        config.validate()?;
        let mut blocks = Vec::with_capacity(config.critic_widths.len());
        let mut channels = config.channels;
        let mut size = config.image_size;
        for (index, width) in config.critic_widths.iter().enumerate() {
            let out = config.dim * width;
            let norm = match config.critic_norm {
                CriticNorm::BatchNorm if index > 0 => Some(new_batch_norm(config, out, device)),
                _ => None,
            };
            blocks.push(CriticBlock {
                conv: conv(
                    [channels, out],
                    config.kernel_size,
                    2,
                    config.critic_conv_bias,
                    rng,
                    device,
                ),
                norm,
            });
            channels = out;
            size = size.div_ceil(2);
        }
        Ok(Self {
            blocks,
            output: linear(channels * size * size, 1, rng, device),
            leaky_relu_slope: config.leaky_relu_slope,
            input_channels: config.channels,
            image_size: config.image_size,
        })
    }

    /// Scores a batch of images.
    ///
    /// # Shapes
    /// - `images`: `[batch, channels, image_size, image_size]`, pixels in [-1, 1]
    /// - output: `[batch, 1]`
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        let mut x = images;
        for block in &self.blocks {
            x = leaky_relu(block.pre_activation(x), self.leaky_relu_slope);
        }
        self.output.forward(x.flatten(1, 3)) // [B, 4·4·C] -> [B, 1]
    }

    /// Like [`Critic::forward`], but checks the image shape first.
    pub fn try_forward(&self, images: Tensor<B, 4>) -> Result<Tensor<B, 2>, ModelError> {
        self.check_input(&images)?;
        Ok(self.forward(images))
    }

    /// Whether any block normalises over the batch (which rules out the input gradient).
    pub fn has_batch_norm(&self) -> bool {
        self.blocks.iter().any(|block| block.norm.is_some())
    }

    pub(crate) fn check_input(&self, images: &Tensor<B, 4>) -> Result<(), ModelError> {
        let dims = images.dims();
        let expected = [self.input_channels, self.image_size, self.image_size];
        if dims[1..] != expected {
            return Err(ModelError::InputShape {
                network: "critic",
                expected: vec![0, expected[0], expected[1], expected[2]],
                actual: dims.to_vec(),
            });
        }
        Ok(())
    }
}

impl<B: Backend> CriticBlock<B> {
    /// Convolution and optional BatchNorm, before the LeakyReLU.
    ///
    /// # Shapes
    /// - `input`: `[batch, c_in, s, s]`
    /// - output: `[batch, c_out, ceil(s / 2), ceil(s / 2)]`
    pub fn pre_activation(&self, input: Tensor<B, 4>) -> Tensor<B, 4> {
        let x = conv2d(&self.conv, input);
        match &self.norm {
            Some(norm) => batch_norm(norm, x),
            None => x,
        }
    }
}
