//! Architecture configuration and the two seed presets.

use serde::{Deserialize, Serialize};

use crate::ModelError;

/// Which of the seed's two models a configuration reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// WGAN with weight clipping: BatchNorm and conv biases in the critic.
    Wgan,
    /// WGAN-GP: a wider last generator block; no BatchNorm and no conv biases in the critic.
    WganGp,
}

impl Variant {
    /// The name used in configs and reports: `wgan` or `wgan-gp`.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Wgan => "wgan",
            Variant::WganGp => "wgan-gp",
        }
    }
}

/// Normalisation after the critic's second and later convolutions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CriticNorm {
    /// BatchNorm, as in the WGAN seed. Incompatible with the gradient penalty.
    BatchNorm,
    /// No normalisation, as in the WGAN-GP seed.
    None,
}

/// BatchNorm hyperparameters, in burn's convention.
///
/// The defaults are Keras' (`epsilon = 1e-3`, `momentum = 0.99`): Keras keeps
/// `0.99·old + 0.01·batch`, which is burn's `momentum = 0.01`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchNormConfig {
    /// Added to the variance before the square root. Default `1e-3`.
    pub epsilon: f64,
    /// Weight of the current batch in the running statistics. Default `0.01`.
    pub momentum: f64,
}

impl Default for BatchNormConfig {
    fn default() -> Self {
        Self {
            epsilon: 1e-3,
            momentum: 0.01,
        }
    }
}

/// The full architecture of both networks.
///
/// The generator projects `z` to a `4×4` map with `dim · generator_widths[0]` channels, then
/// each further width is a ×2 bilinear upsample, a 'same' convolution, BatchNorm and ReLU;
/// a last upsample and convolution map to `channels` with tanh. The critic mirrors it with
/// stride-2 convolutions of `dim · critic_widths[i]` channels down to `4×4`, then a linear
/// layer to one score. So `image_size = 4 · 2^len(widths)` for both lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Base width DIM. Seed: 128.
    pub dim: usize,
    /// Length of the noise vector z ~ N(0, I). Seed: 128.
    pub latent_dim: usize,
    /// Image channels (1 for Fashion-MNIST).
    pub channels: usize,
    /// Image height and width in pixels. Seed: 32.
    pub image_size: usize,
    /// Square kernel size of every convolution. Seed: 5.
    pub kernel_size: usize,
    /// Channel multipliers of DIM for the generator's feature maps from 4×4 up to
    /// `image_size / 2`. Seed: `[4, 2, 1]` (WGAN) or `[4, 2, 2]` (WGAN-GP).
    pub generator_widths: Vec<usize>,
    /// Channel multipliers of DIM for the critic's feature maps from `image_size / 2` down to
    /// 4×4. Seed: `[1, 2, 4]`.
    pub critic_widths: Vec<usize>,
    /// Normalisation in the critic after its first convolution.
    pub critic_norm: CriticNorm,
    /// Whether the critic's convolutions have biases (WGAN: yes, WGAN-GP: no).
    pub critic_conv_bias: bool,
    /// Negative slope of the critic's LeakyReLU. Seed: 0.2.
    pub leaky_relu_slope: f64,
    /// BatchNorm settings (generator, and the WGAN critic).
    pub batch_norm: BatchNormConfig,
}

impl ModelConfig {
    /// The seed's architecture for `variant` at base width `dim`, 32×32×1 images, z of 128.
    pub fn preset(variant: Variant, dim: usize) -> Self {
        let (generator_widths, critic_norm, critic_conv_bias) = match variant {
            Variant::Wgan => (vec![4, 2, 1], CriticNorm::BatchNorm, true),
            Variant::WganGp => (vec![4, 2, 2], CriticNorm::None, false),
        };
        Self {
            dim,
            latent_dim: 128,
            channels: 1,
            image_size: 32,
            kernel_size: 5,
            generator_widths,
            critic_widths: vec![1, 2, 4],
            critic_norm,
            critic_conv_bias,
            leaky_relu_slope: 0.2,
            batch_norm: BatchNormConfig::default(),
        }
    }

    /// Side of the smallest feature map (the generator's first, the critic's last).
    pub const BASE_SIZE: usize = 4;

    /// Checks every field; the error names the first field that is wrong.
    pub fn validate(&self) -> Result<(), ModelError> {
        let invalid = |field, reason: String| Err(ModelError::InvalidConfig { field, reason });
        for (field, value) in [
            ("dim", self.dim),
            ("latent_dim", self.latent_dim),
            ("channels", self.channels),
            ("kernel_size", self.kernel_size),
        ] {
            if value == 0 {
                return invalid(field, "must be at least 1".into());
            }
        }
        if self.kernel_size.is_multiple_of(2) {
            return invalid(
                "kernel_size",
                format!("must be odd for 'same' padding, got {}", self.kernel_size),
            );
        }
        for (field, widths) in [
            ("generator_widths", &self.generator_widths),
            ("critic_widths", &self.critic_widths),
        ] {
            if widths.is_empty() || widths.contains(&0) {
                return invalid(field, format!("needs one or more positive multipliers, got {widths:?}"));
            }
            let produced = Self::BASE_SIZE << widths.len();
            if produced != self.image_size {
                return invalid(
                    "image_size",
                    format!(
                        "{} widths give {}×{} images (4·2^{}), but image_size is {}; \
                         use image_size = {} or {} widths",
                        widths.len(),
                        produced,
                        produced,
                        widths.len(),
                        self.image_size,
                        produced,
                        self.image_size.checked_ilog2().map_or(0, |l| l.saturating_sub(2)),
                    ),
                );
            }
        }
        if !(self.leaky_relu_slope.is_finite() && (0.0..1.0).contains(&self.leaky_relu_slope)) {
            return invalid(
                "leaky_relu_slope",
                format!("must be in [0, 1), got {}", self.leaky_relu_slope),
            );
        }
        let bn = &self.batch_norm;
        if !(bn.epsilon.is_finite() && bn.epsilon > 0.0) {
            return invalid("batch_norm.epsilon", format!("must be > 0, got {}", bn.epsilon));
        }
        if !(bn.momentum.is_finite() && bn.momentum > 0.0 && bn.momentum <= 1.0) {
            return invalid("batch_norm.momentum", format!("must be in (0, 1], got {}", bn.momentum));
        }
        Ok(())
    }

    /// Channels of the generator's first (4×4) feature map.
    pub fn generator_base_channels(&self) -> usize {
        self.dim * self.generator_widths[0]
    }

    /// Channels of the critic's last (4×4) feature map.
    pub fn critic_top_channels(&self) -> usize {
        self.dim * self.critic_widths[self.critic_widths.len() - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid() {
        for variant in [Variant::Wgan, Variant::WganGp] {
            for dim in [8, 64, 128] {
                assert_eq!(ModelConfig::preset(variant, dim).validate(), Ok(()));
            }
        }
    }

    #[test]
    fn image_size_the_architecture_cannot_produce_is_rejected() {
        let mut config = ModelConfig::preset(Variant::WganGp, 8);
        config.image_size = 28;
        let err = config.validate().unwrap_err().to_string();
        assert!(err.starts_with("model.image_size:"), "{err}");
        assert!(err.contains("32×32"), "{err}");
    }

    #[test]
    fn zero_width_and_even_kernel_are_rejected() {
        let mut config = ModelConfig::preset(Variant::Wgan, 8);
        config.dim = 0;
        assert!(config.validate().unwrap_err().to_string().starts_with("model.dim:"));
        let mut config = ModelConfig::preset(Variant::Wgan, 8);
        config.kernel_size = 4;
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .starts_with("model.kernel_size:")
        );
        let mut config = ModelConfig::preset(Variant::Wgan, 8);
        config.critic_widths = vec![1, 0, 4];
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .starts_with("model.critic_widths:")
        );
    }
}
