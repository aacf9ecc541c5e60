//! A layer-by-layer description of the networks, for `wgan info` and `wgan bench`: shapes,
//! trainable parameters and the forward pass's floating-point operations.
//!
//! FLOPs count the matrix products only, a multiply and an add each: `2·in·out` per sample
//! for a dense layer, `2·C_in·C_out·k_h·k_w·H_out·W_out` for a convolution. Bias adds,
//! normalisation, activations and the bilinear upsampling (a two-tap stencil, about 0.1 % of
//! the products at DIM 64) are left out.

use burn::module::Module;
use burn::nn::BatchNorm;
use burn::nn::conv::Conv2d;
use burn::tensor::backend::Backend;
use serde::Serialize;

use crate::{Critic, Generator, ModelConfig};

/// One layer: what it is, what it outputs, and how many trainable values it holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerSummary {
    /// Human-readable layer, e.g. `conv 5×5 s2 (1→64)`.
    pub layer: String,
    /// Output shape without the batch dimension, e.g. `[64, 16, 16]`.
    pub output_shape: Vec<usize>,
    /// Trainable parameters of this layer (BatchNorm counts γ and β, not its running statistics).
    pub trainable_params: usize,
    /// Floating-point operations of the layer's forward pass for one sample (matrix products
    /// only, see the module docs).
    pub forward_flops: u64,
}

/// A whole network.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkSummary {
    /// Layers in forward order.
    pub layers: Vec<LayerSummary>,
    /// Sum over all layers: Keras' trainable parameter count. burn's `num_params()` is larger
    /// by the BatchNorm running statistics.
    pub trainable_params: usize,
    /// Sum over all layers: the forward pass's FLOPs for one sample.
    pub forward_flops: u64,
}

impl NetworkSummary {
    fn from_layers(layers: Vec<LayerSummary>) -> Self {
        let trainable_params = layers.iter().map(|l| l.trainable_params).sum();
        let forward_flops = layers.iter().map(|l| l.forward_flops).sum();
        Self {
            layers,
            trainable_params,
            forward_flops,
        }
    }
}

/// A layer without matrix products.
fn layer(layer: String, output_shape: Vec<usize>, trainable_params: usize) -> LayerSummary {
    LayerSummary {
        layer,
        output_shape,
        trainable_params,
        forward_flops: 0,
    }
}

/// A convolution with output `[channels, size, size]`.
fn conv_layer<B: Backend>(conv: &Conv2d<B>, size: usize) -> LayerSummary {
    let [out, inp, kh, kw] = conv.weight.dims();
    LayerSummary {
        forward_flops: (2 * inp * out * kh * kw * size * size) as u64,
        ..layer(conv_name(conv), vec![out, size, size], conv.num_params())
    }
}

/// A dense layer from `input` to `output` features.
fn linear_layer(name: String, input: usize, output: usize, trainable_params: usize) -> LayerSummary {
    LayerSummary {
        forward_flops: (2 * input * output) as u64,
        ..layer(name, vec![output], trainable_params)
    }
}

fn conv_name<B: Backend>(conv: &Conv2d<B>) -> String {
    let [out, inp, kh, kw] = conv.weight.dims();
    let bias = if conv.bias.is_some() { "" } else { ", no bias" };
    format!("conv {kh}×{kw} stride {} ({inp}→{out}{bias})", conv.stride[0])
}

/// BatchNorm trains γ and β; burn's `num_params()` would also count the running statistics.
fn norm_layer<B: Backend>(norm: &BatchNorm<B>, shape: &[usize]) -> LayerSummary {
    let trainable = norm.gamma.shape().num_elements() + norm.beta.shape().num_elements();
    layer("batch norm".into(), shape.to_vec(), trainable)
}

impl<B: Backend> Generator<B> {
    /// The generator's layers.
    pub fn summary(&self) -> NetworkSummary {
        let base = ModelConfig::BASE_SIZE;
        let projected = self.base_channels * base * base;
        let mut layers = vec![
            linear_layer(
                format!("linear ({}→{projected})", self.latent_dim),
                self.latent_dim,
                projected,
                self.project.num_params(),
            ),
            norm_layer(&self.project_norm, &[projected]),
            layer("relu, reshape".into(), vec![self.base_channels, base, base], 0),
        ];
        let mut size = base;
        for block in &self.blocks {
            size *= 2;
            let channels = block.conv.weight.dims()[0];
            layers.push(layer(
                "bilinear upsample ×2".into(),
                vec![block.conv.weight.dims()[1], size, size],
                0,
            ));
            layers.push(conv_layer(&block.conv, size));
            layers.push(norm_layer(&block.norm, &[channels, size, size]));
            layers.push(layer("relu".into(), vec![channels, size, size], 0));
        }
        size *= 2;
        let [channels, in_channels, ..] = self.output.weight.dims();
        layers.push(layer("bilinear upsample ×2".into(), vec![in_channels, size, size], 0));
        layers.push(conv_layer(&self.output, size));
        layers.push(layer("tanh".into(), vec![channels, size, size], 0));
        NetworkSummary::from_layers(layers)
    }
}

impl<B: Backend> Critic<B> {
    /// The critic's layers.
    pub fn summary(&self) -> NetworkSummary {
        let mut layers = Vec::new();
        let mut size = self.image_size;
        let mut channels = self.input_channels;
        for block in &self.blocks {
            size = size.div_ceil(block.conv.stride[0]);
            channels = block.conv.weight.dims()[0];
            let shape = vec![channels, size, size];
            layers.push(conv_layer(&block.conv, size));
            if let Some(norm) = &block.norm {
                layers.push(norm_layer(norm, &shape));
            }
            layers.push(layer(format!("leaky relu ({})", self.leaky_relu_slope), shape, 0));
        }
        let features = channels * size * size;
        layers.push(layer("flatten".into(), vec![features], 0));
        layers.push(linear_layer(
            format!("linear ({features}→1)"),
            features,
            1,
            self.output.num_params(),
        ));
        NetworkSummary::from_layers(layers)
    }
}
