//! The critic's input gradient `dD/dx`, built from differentiable ops.
//!
//! burn's autodiff is first-order: `x.grad()` returns a tensor with no history, so a gradient
//! penalty built from it contributes exactly zero gradient to the critic. Here the backward
//! pass through the critic is written out with ordinary ops, so first-order autodiff can
//! differentiate the penalty with respect to the critic's parameters:
//!
//! - linear `s = h·w + b` with `w: [d, 1]`: `ds/dh = wᵀ`, the same row for every sample;
//! - LeakyReLU: multiply by its slope mask (1 where the pre-activation is positive, else the
//!   negative slope), taken from the detached pre-activation; the mask is piecewise constant,
//!   so its own derivative is zero almost everywhere and dropping it is exact;
//! - convolution: the adjoint is the transposed convolution with the same weight, stride and
//!   leading padding, cropped (or padded) back to the input size. Conv biases do not appear.

use burn::tensor::{Tensor, backend::Backend};

use wgan_ops::{conv2d_adjoint, conv2d_detached, leaky_relu};

use crate::{Critic, ModelError};

impl<B: Backend> Critic<B> {
    /// The gradient of each sample's score with respect to its own input, `dD(x_i)/dx_i`,
    /// differentiable with respect to the critic's parameters.
    ///
    /// Fails for a critic with BatchNorm, whose score of one sample depends on the others.
    ///
    /// # Shapes
    /// - `images`: `[batch, channels, image_size, image_size]`
    /// - output: `[batch, channels, image_size, image_size]`
    pub fn input_gradient(&self, images: Tensor<B, 4>) -> Result<Tensor<B, 4>, ModelError> {
        if self.has_batch_norm() {
            return Err(ModelError::InputGradientWithBatchNorm);
        }
        self.check_input(&images)?;
        let [batch, ..] = images.dims();

        // Forward on detached weights: only the slope masks are needed, and they carry no
        // gradient, so nothing here needs to be recorded by autodiff.
        let mut masks = Vec::with_capacity(self.blocks.len());
        let mut sizes = Vec::with_capacity(self.blocks.len());
        let mut x = images.detach();
        for block in &self.blocks {
            let [_, _, height, width] = x.dims();
            sizes.push([height, width]);
            let pre = conv2d_detached(&block.conv, x);
            masks.push(self.slope_mask(pre.clone()));
            x = leaky_relu(pre, self.leaky_relu_slope);
        }

        // dD/dh for the flattened last feature map h: the linear weight column, one copy
        // per sample, shaped like the map.
        let [_, channels, height, width] = x.dims();
        let weight = self.output.weight.val().reshape([1, channels, height, width]);
        let mut grad = masks
            .pop()
            .map(|mask| mask.mul(weight.clone()))
            .unwrap_or_else(|| weight.expand([batch, channels, height, width]));
        for (index, block) in self.blocks.iter().enumerate().rev() {
            grad = conv2d_adjoint(&block.conv, grad, sizes[index]);
            if index > 0 {
                grad = grad.mul(masks[index - 1].clone());
            }
        }
        Ok(grad)
    }

    /// `1` where `pre > 0`, the negative slope elsewhere (same dtype as `pre`, no history).
    fn slope_mask(&self, pre: Tensor<B, 4>) -> Tensor<B, 4> {
        let non_positive = pre.clone().lower_equal_elem(0.0);
        pre.ones_like().mask_fill(non_positive, self.leaky_relu_slope)
    }
}
