//! 2-D convolution for the networks: burn's ops everywhere, and on the CPU backend (flex,
//! with or without autodiff) host kernels that are matrix products over unrolled patches.
//!
//! flex computes a convolution's weight gradient as a convolution over the batch axis and
//! its input gradient with a scalar transposed-convolution loop; both measured 2–6× slower
//! than PyTorch at this model's sizes. The host kernels compute all three (output, input
//! gradient, weight gradient) as one matrix product per group of images, registered with
//! burn's autodiff as custom operations (`autodiff.rs`). Other backends, dtypes other than
//! f32 and f64, dilation and groups go through burn's own ops.
//!
//! # The host kernels
//!
//! 2-D convolution on host slices as image-to-column matrix products: the sizes in
//! `geometry.rs`, the unroll and its adjoint in `unroll.rs`, the products in `matmul.rs`,
//! the passes in `forward.rs` and `backward.rs`, and layers with one output channel in
//! `single_output.rs`.
//!
//! Layouts are row-major: images `[N, C_in, H, W]`, weights `[C_out, K]` with
//! `K = C_in·k_h·k_w` in `(c_in, i, j)` order (burn's `[C_out, C_in, k_h, k_w]`), outputs and
//! their gradients `[N, C_out, L]` with `L = H_out·W_out`.
//!
//! A group of `G` images is first interleaved, `[C, H, W, G]`, so that one pixel of all `G`
//! images is contiguous and every unrolled row is copied in runs of `G` or more values;
//! a group has at least [`MIN_COLUMNS`](geometry::MIN_COLUMNS) output columns `L·G`, so
//! each product is large.
//!
//! The forward pass and the weight gradient unroll only the `k_w` horizontal taps, over
//! every zero-padded input row (split into `s_h` row phases for a vertical stride `s_h`):
//! kernel row `i`'s patch rows are that matrix shifted by a whole number of rows, read in
//! place by one product per kernel row, so about `k_h / s_h` times less is written and read
//! than by a full unroll. The weight gradient is these products per group, accumulated, not
//! a convolution over the batch axis. The input gradient is `Wᵀ` times the output gradient,
//! `[K, L·G]`, whose rows are added back onto the pixels they were read from.

mod autodiff;
mod backward;
mod forward;
mod geometry;
mod matmul;
mod peak;
mod single_output;
mod unroll;

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::module::{conv_transpose2d, conv2d as burn_conv2d};
use burn::tensor::ops::{ConvTransposeOptions, PaddedConvOptions};
use burn::tensor::{DType, Tensor, backend::Backend};

use crate::dispatch::host_kernels_apply;
use geometry::Geometry;
pub use peak::{HOST_PEAK_SIZE, host_matrix_product_peak};

/// Padding before and after, `[(top, bottom), (left, right)]`.
pub type Padding2d = [(usize, usize); 2];

/// Padding of a conv built by this crate: always explicit.
pub fn explicit_padding<B: Backend>(conv: &Conv2d<B>) -> Padding2d {
    match conv.padding {
        PaddingConfig2d::Explicit(top, left, bottom, right) => [(top, bottom), (left, right)],
        PaddingConfig2d::Valid => [(0, 0), (0, 0)],
        // Not built by this crate; 'same' at stride 1 with an odd kernel is symmetric.
        PaddingConfig2d::Same => {
            let [kh, kw] = conv.kernel_size;
            [(kh / 2, kh / 2), (kw / 2, kw / 2)]
        }
    }
}

/// `conv.forward(x)`, through the host kernels where they apply.
///
/// # Shapes
/// - `x`: `[batch, c_in, h, w]`
/// - output: `[batch, c_out, h_out, w_out]`
pub fn conv2d<B: Backend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let bias = conv.bias.as_ref().map(|bias| bias.val());
    convolve(conv, x, conv.weight.val(), bias)
}

/// Like [`conv2d`], with the layer's weight and bias detached.
pub fn conv2d_detached<B: Backend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let bias = conv.bias.as_ref().map(|bias| bias.val().detach());
    convolve(conv, x, conv.weight.val().detach(), bias)
}

/// The adjoint (transposed convolution) of `conv` without its bias, applied to `grad`: the
/// gradient with respect to the conv's input of `⟨grad, conv(x)⟩`, differentiable in `grad`
/// and in the weight.
///
/// # Shapes
/// - `grad`: `[batch, c_out, h_out, w_out]`
/// - output: `[batch, c_in, input_size[0], input_size[1]]`
pub fn conv2d_adjoint<B: Backend>(conv: &Conv2d<B>, grad: Tensor<B, 4>, input_size: [usize; 2]) -> Tensor<B, 4> {
    let weight = conv.weight.val();
    let padding = explicit_padding(conv);
    if let Some(geometry) = host_geometry(conv, &weight, grad.dtype(), grad.dims()[0], input_size, padding)
        && let Some(out) =
            autodiff::adjoint_ad(geometry, &grad, &weight).or_else(|| autodiff::adjoint_inner(geometry, &grad, &weight))
    {
        return out;
    }
    burn_adjoint(conv, grad, weight, input_size, padding)
}

fn convolve<B: Backend>(
    conv: &Conv2d<B>,
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Option<Tensor<B, 1>>,
) -> Tensor<B, 4> {
    let padding = explicit_padding(conv);
    let [batch, _, height, width] = x.dims();
    if let Some(geometry) = host_geometry(conv, &weight, x.dtype(), batch, [height, width], padding)
        && let Some(out) = autodiff::conv_ad(geometry, &x, &weight, bias.as_ref())
            .or_else(|| autodiff::conv_inner(geometry, &x, &weight, bias.as_ref()))
    {
        return out;
    }
    let [(top, bottom), (left, right)] = padding;
    let options = PaddedConvOptions::asymmetric(conv.stride, [top, left], [bottom, right], conv.dilation, conv.groups);
    burn_conv2d(x, weight, bias, options)
}

/// burn's transposed convolution, cropped (or zero-extended) to `input_size`.
fn burn_adjoint<B: Backend>(
    conv: &Conv2d<B>,
    grad: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    input_size: [usize; 2],
    padding: Padding2d,
) -> Tensor<B, 4> {
    let [(top, _), (left, _)] = padding;
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
    let x_grad = conv_transpose2d(grad, weight, None, options);
    let [batch, channels, height, width] = x_grad.dims();
    if [height, width] == input_size {
        x_grad
    } else {
        x_grad.slice([0..batch, 0..channels, 0..input_size[0], 0..input_size[1]])
    }
}

/// The kernels' geometry for `conv` on `dtype` inputs of `input_size`, if they support it:
/// where the host kernels apply at all, one group, no dilation, a non-empty output.
fn host_geometry<B: Backend>(
    conv: &Conv2d<B>,
    weight: &Tensor<B, 4>,
    dtype: DType,
    batch: usize,
    input_size: [usize; 2],
    padding: Padding2d,
) -> Option<Geometry> {
    if !host_kernels_apply::<B>(dtype) || conv.groups != 1 || conv.dilation != [1, 1] {
        return None;
    }
    let [channels_out, channels_in, kh, kw] = weight.dims();
    let out = |axis: usize, kernel: usize| {
        let (before, after) = padding[axis];
        (input_size[axis] + before + after)
            .checked_sub(kernel)
            .map(|span| span / conv.stride[axis] + 1)
    };
    let output = [out(0, kh)?, out(1, kw)?];
    Some(Geometry {
        batch,
        channels_in,
        channels_out,
        input: input_size,
        output,
        kernel: [kh, kw],
        stride: conv.stride,
        padding: [padding[0].0, padding[1].0],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cast_parameters;
    use crate::dispatch::host_calls;
    use burn::backend::{Autodiff, Flex};
    use burn::module::{AutodiffModule, Param};
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::Distribution;

    type Ad = Autodiff<Flex>;

    fn assert_close<B: Backend, const D: usize>(actual: Tensor<B, D>, expected: Tensor<B, D>, what: &str) {
        let [actual, expected] = [actual.into_data(), expected.into_data()];
        assert_eq!(actual.shape, expected.shape, "{what}: shape");
        let scale = expected.iter::<f64>().fold(1.0f64, |m, e| m.max(e.abs()));
        for (index, (a, e)) in actual.iter::<f64>().zip(expected.iter::<f64>()).enumerate() {
            assert!((a - e).abs() <= 1e-11 * scale, "{what}[{index}]: {a} vs burn's {e}");
        }
    }

    fn random<B: Backend, const D: usize>(shape: [usize; D], device: &B::Device) -> Tensor<B, D> {
        Tensor::<B, D>::random(shape, Distribution::Normal(0.0, 1.0), device).cast(DType::F64)
    }

    /// One conv layer in f64: `[c_in, c_out]`, kernel, stride, padding (top, left, bottom,
    /// right), with or without bias.
    fn layer(channels: [usize; 2], kernel: usize, stride: usize, padding: [usize; 4], bias: bool) -> Conv2d<Ad> {
        let [top, left, bottom, right] = padding;
        let conv = Conv2dConfig::new(channels, [kernel, kernel])
            .with_stride([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(top, left, bottom, right))
            .with_bias(bias)
            .init::<Ad>(&Default::default());
        cast_parameters(conv, DType::F64)
    }

    /// (conv, batch, input size): stride 1 and 2, 'same' and asymmetric padding, odd sizes,
    /// single channels, and batches large enough to be unrolled in groups.
    fn cases() -> Vec<(Conv2d<Ad>, usize, [usize; 2])> {
        vec![
            (layer([3, 4], 5, 1, [2, 2, 2, 2], true), 2, [6, 5]),
            (layer([2, 3], 5, 2, [2, 2, 2, 2], false), 3, [8, 8]),
            (layer([1, 4], 5, 2, [1, 1, 2, 2], true), 5, [7, 9]),
            (layer([4, 1], 3, 1, [0, 0, 0, 0], true), 2, [5, 6]),
            (layer([3, 2], 5, 2, [2, 2, 2, 2], false), 40, [4, 4]),
            (layer([2, 2], 3, 3, [1, 0, 2, 1], true), 3, [7, 8]),
            (layer([3, 1], 5, 2, [2, 2, 2, 2], false), 3, [9, 8]),
            // Groups of two images and a last group of one.
            (layer([2, 3], 3, 1, [1, 1, 1, 1], true), 5, [16, 20]),
            // One image per product (L = 24·24 ≥ MIN_COLUMNS), strided.
            (layer([2, 3], 5, 2, [2, 2, 2, 2], true), 2, [48, 47]),
            // More patch rows than CHUNK_ROWS: 110·25 unrolled in six channel chunks, and
            // 110·5 horizontal taps (vertical stride 1) in two.
            (layer([110, 3], 5, 1, [2, 2, 2, 2], true), 3, [6, 7]),
        ]
    }

    /// burn's convolution on `x` zero-padded by hand (burn's own asymmetric padding creates
    /// f32 zeros, which fails on f64 inputs).
    fn burn_conv<B: Backend>(conv: &Conv2d<B>, x: Tensor<B, 4>, weight: Tensor<B, 4>) -> Tensor<B, 4> {
        let [(top, bottom), (left, right)] = explicit_padding(conv);
        let [batch, channels, height, width] = x.dims();
        let padded = Tensor::<B, 4>::zeros(
            [batch, channels, top + height + bottom, left + width + right],
            (&x.device(), x.dtype()),
        )
        .slice_assign([0..batch, 0..channels, top..top + height, left..left + width], x);
        let options = PaddedConvOptions::asymmetric(conv.stride, [0, 0], [0, 0], conv.dilation, conv.groups);
        burn_conv2d(padded, weight, conv.bias.as_ref().map(Param::val), options)
    }

    #[test]
    fn kernels_match_burn_forward_and_gradients() {
        let device = Default::default();
        for (case, (conv, batch, size)) in cases().into_iter().enumerate() {
            let [_, c_in, ..] = conv.weight.dims();
            let x = random::<Ad, 4>([batch, c_in, size[0], size[1]], &device).require_grad();
            let calls = host_calls();
            let ours = conv2d(&conv, x.clone());
            let theirs = burn_conv(&conv, x.clone(), conv.weight.val());
            let upstream = random::<Ad, 4>(theirs.dims(), &device);
            let ours_grads = ours.clone().mul(upstream.clone()).sum().backward();
            let theirs_grads = theirs.clone().mul(upstream).sum().backward();
            // Ours on the host: the output, then the input, weight and bias gradients.
            assert_eq!(
                host_calls() - calls,
                3 + usize::from(conv.bias.is_some()),
                "case {case}: host kernel runs"
            );
            assert_close(ours, theirs.clone(), &format!("case {case} output"));
            let grad = |grads, tensor: &Tensor<Ad, 4>| tensor.grad(grads).expect("tracked");
            assert_close(
                grad(&ours_grads, &x),
                grad(&theirs_grads, &x),
                &format!("case {case} d/dx"),
            );
            assert_close(
                grad(&ours_grads, &conv.weight.val()),
                grad(&theirs_grads, &conv.weight.val()),
                &format!("case {case} d/dweight"),
            );
            if let Some(bias) = &conv.bias {
                assert_close(
                    bias.val().grad(&ours_grads).expect("tracked"),
                    bias.val().grad(&theirs_grads).expect("tracked"),
                    &format!("case {case} d/dbias"),
                );
            }
            // Without autodiff: the same output.
            let inner = conv.valid();
            let x_inner = x.inner();
            let calls = host_calls();
            let ours = conv2d(&inner, x_inner.clone());
            assert_eq!(host_calls() - calls, 1, "case {case}: inner host kernel runs");
            assert_close(
                ours,
                burn_conv(&inner, x_inner, inner.weight.val()),
                &format!("case {case} inner output"),
            );
        }
    }

    #[test]
    fn adjoint_matches_burn_and_is_the_input_gradient() {
        let device = Default::default();
        for (case, (conv, batch, size)) in cases().into_iter().enumerate() {
            let [_, c_in, ..] = conv.weight.dims();
            // ⟨g, conv(x)⟩ differentiated by x is the adjoint applied to g (bias aside).
            let x = random::<Ad, 4>([batch, c_in, size[0], size[1]], &device).require_grad();
            let output = burn_conv(&conv, x.clone(), conv.weight.val());
            let grad_out = random::<Ad, 4>(output.dims(), &device).require_grad();
            let reference = output.mul(grad_out.clone().detach()).sum().backward();
            let calls = host_calls();
            let adjoint = conv2d_adjoint(&conv, grad_out.clone(), size);
            assert_eq!(host_calls() - calls, 1, "case {case}: adjoint host kernel runs");
            assert_close(
                adjoint.clone().inner(),
                x.grad(&reference).expect("tracked"),
                &format!("case {case} adjoint"),
            );

            // Its own gradients, against burn's transposed convolution, each on its own leaf.
            let [ours_leaf, theirs_leaf] = [(); 2].map(|_| grad_out.clone().detach().require_grad());
            let calls = host_calls();
            let adjoint = conv2d_adjoint(&conv, ours_leaf.clone(), size);
            let theirs = burn_adjoint(
                &conv,
                theirs_leaf.clone(),
                conv.weight.val(),
                size,
                explicit_padding(&conv),
            );
            let upstream = random::<Ad, 4>(theirs.dims(), &device);
            let theirs_grads = theirs.mul(upstream.clone()).sum().backward();
            let ours_grads = adjoint.mul(upstream).sum().backward();
            // The adjoint, then its gradients for `grad` (a convolution) and the weight.
            assert_eq!(host_calls() - calls, 3, "case {case}: adjoint host kernel runs");
            let grad = |grads, tensor: &Tensor<Ad, 4>| tensor.grad(grads).expect("tracked");
            assert_close(
                grad(&ours_grads, &ours_leaf),
                grad(&theirs_grads, &theirs_leaf),
                &format!("case {case} adjoint d/dgrad"),
            );
            assert_close(
                grad(&ours_grads, &conv.weight.val()),
                grad(&theirs_grads, &conv.weight.val()),
                &format!("case {case} adjoint d/dweight"),
            );
        }
    }
}
