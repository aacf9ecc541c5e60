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

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::module::{conv_transpose2d, conv2d};
use burn::tensor::ops::{ConvTransposeOptions, PaddedConvOptions};
use burn::tensor::{Tensor, backend::Backend};

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
            let pre = detached_conv(&block.conv, x);
            masks.push(self.slope_mask(pre.clone()));
            x = burn::tensor::activation::leaky_relu(pre, self.leaky_relu_slope);
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
            grad = conv_input_gradient(&block.conv, grad, sizes[index]);
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

/// `conv.forward(x)` with detached weight and bias, so that no autodiff graph records it.
fn detached_conv<B: Backend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let ((top, bottom), (left, right)) = explicit_padding(conv);
    let options = PaddedConvOptions::asymmetric(conv.stride, [top, left], [bottom, right], conv.dilation, conv.groups);
    conv2d(
        x,
        conv.weight.val().detach(),
        conv.bias.as_ref().map(|bias| bias.val().detach()),
        options,
    )
}

/// Padding of a conv built by this crate: always explicit.
fn explicit_padding<B: Backend>(conv: &Conv2d<B>) -> ((usize, usize), (usize, usize)) {
    match conv.padding {
        PaddingConfig2d::Explicit(top, left, bottom, right) => ((top, bottom), (left, right)),
        PaddingConfig2d::Valid => ((0, 0), (0, 0)),
        // Not built by this crate; 'same' at stride 1 with an odd kernel is symmetric.
        PaddingConfig2d::Same => {
            let [kh, kw] = conv.kernel_size;
            ((kh / 2, kh / 2), (kw / 2, kw / 2))
        }
    }
}

/// Backpropagates `grad = dD/dy` through `y = conv(x)` to `dD/dx`.
///
/// # Shapes
/// - `grad`: `[batch, c_out, h_out, w_out]`
/// - output: `[batch, c_in, input_size[0], input_size[1]]`
fn conv_input_gradient<B: Backend>(conv: &Conv2d<B>, grad: Tensor<B, 4>, input_size: [usize; 2]) -> Tensor<B, 4> {
    let ((top, _), (left, _)) = explicit_padding(conv);
    let [_, _, h_out, w_out] = grad.dims();
    let [kh, kw] = conv.kernel_size;
    let full = |out: usize, stride: usize, dilation: usize, kernel: usize, pad: usize| {
        ((out - 1) * stride + dilation * (kernel - 1) + 1).saturating_sub(2 * pad)
    };
    let natural = [
        full(h_out, conv.stride[0], conv.dilation[0], kh, top),
        full(w_out, conv.stride[1], conv.dilation[1], kw, left),
    ];
    // The transposed conv covers input rows [pad, pad + natural); rows the forward conv never
    // read (trailing padding the stride skipped) get zero gradient via padding_out, and
    // rows past the input (trailing 'same' padding) are cropped.
    let padding_out = [
        input_size[0].saturating_sub(natural[0]),
        input_size[1].saturating_sub(natural[1]),
    ];
    let options = ConvTransposeOptions::new(conv.stride, [top, left], padding_out, conv.dilation, conv.groups);
    let x_grad = conv_transpose2d(grad, conv.weight.val(), None, options);
    let [batch, channels, height, width] = x_grad.dims();
    if [height, width] == input_size {
        x_grad
    } else {
        x_grad.slice([0..batch, 0..channels, 0..input_size[0], 0..input_size[1]])
    }
}
