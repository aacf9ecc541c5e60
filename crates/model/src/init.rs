//! Initial weights drawn on the host from a caller's seeded RNG.
//!
//! burn's initialisers draw from the backend's global RNG, which a seed fixes for one op only
//! on some backends, and which parameters clone-before-first-use re-draw independently.
//! Drawing here makes a run's starting point a function of its seed alone, identical on every
//! backend.

use burn::module::{Initializer, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::{Tensor, TensorData, backend::Backend};
use rand::Rng;

/// `len` values from Glorot's uniform distribution `U(−a, a)`, `a = √(6 / (fan_in + fan_out))`
/// (Keras' default, `glorot_uniform`).
fn glorot_uniform(rng: &mut impl Rng, len: usize, fan_in: usize, fan_out: usize) -> Vec<f32> {
    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
    (0..len).map(|_| rng.random_range(-limit..=limit)).collect()
}

/// A trainable parameter holding `values`, already materialised.
fn param<B: Backend, const D: usize>(values: Vec<f32>, shape: [usize; D], device: &B::Device) -> Param<Tensor<B, D>> {
    Param::from_tensor(Tensor::from_data(TensorData::new(values, shape), device))
}

/// A square convolution with 'same' output size `ceil(input / stride)`, padded symmetrically
/// by `kernel / 2` (PyTorch's `padding=2` for 5×5), with Keras' initialisation:
/// Glorot-uniform weights and zero biases.
pub fn conv<B: Backend>(
    channels: [usize; 2],
    kernel: usize,
    stride: usize,
    bias: bool,
    rng: &mut impl Rng,
    device: &B::Device,
) -> Conv2d<B> {
    let [input, output] = channels;
    let pad = kernel / 2;
    let mut conv = Conv2dConfig::new(channels, [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_bias(false)
        .with_initializer(Initializer::Zeros)
        .init(device);
    let area = kernel * kernel;
    let weights = glorot_uniform(rng, output * input * area, input * area, output * area);
    conv.weight = param(weights, [output, input, kernel, kernel], device);
    conv.bias = bias.then(|| param(vec![0.0; output], [output], device));
    conv
}

/// A dense layer `y = x·W + b` with `W: [d_input, d_output]` Glorot-uniform and `b` zero.
pub fn linear<B: Backend>(d_input: usize, d_output: usize, rng: &mut impl Rng, device: &B::Device) -> Linear<B> {
    let mut linear = LinearConfig::new(d_input, d_output)
        .with_bias(false)
        .with_initializer(Initializer::Zeros)
        .init(device);
    linear.weight = param(
        glorot_uniform(rng, d_input * d_output, d_input, d_output),
        [d_input, d_output],
        device,
    );
    linear.bias = Some(param(vec![0.0; d_output], [d_output], device));
    linear
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn glorot_limits_and_seed_determinism() {
        let draw = |seed| glorot_uniform(&mut ChaCha8Rng::seed_from_u64(seed), 10_000, 100, 50);
        let values = draw(1);
        let limit = (6.0f32 / 150.0).sqrt();
        assert!(values.iter().all(|v| v.abs() <= limit));
        assert!(values.iter().any(|v| v.abs() > 0.9 * limit), "spans the interval");
        assert_eq!(values, draw(1));
        assert_ne!(values, draw(2));
    }

    #[test]
    fn clones_share_the_drawn_weights() {
        let device = Default::default();
        let conv = conv::<Flex>([2, 3], 5, 2, true, &mut ChaCha8Rng::seed_from_u64(0), &device);
        let copy = conv.clone();
        assert_eq!(conv.weight.val().into_data(), copy.weight.val().into_data());
    }
}
