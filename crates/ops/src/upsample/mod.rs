//! ×2 bilinear upsampling with half-pixel centres (PyTorch `align_corners=False`,
//! `tf.image.resize`): on the CPU backend a two-tap stencil per axis with its own backward
//! pass ([`stencil`]), elsewhere the same stencil from burn's slicing and elementwise ops,
//! which differentiate on every backend.
//!
//! burn's bilinear `interpolate` has no backward pass on the CubeCL backends and defaults to
//! `align_corners = true`. Bilinear resizing is a fixed linear map per axis,
//! `Y = A_h · X · A_wᵀ` ([`bilinear_matrix`]), the reference the tests check both against.

mod stencil;

use burn::tensor::{Tensor, backend::Backend};

use crate::dispatch::host_kernels_apply;

/// The two taps of every output pixel of 1-D bilinear interpolation with half-pixel
/// centres, `(lower, upper, weight of upper)`: output pixel `o` samples input coordinate
/// `(o + 0.5)·input/output − 0.5`, clamped to the first and last pixel.
pub(crate) fn bilinear_taps(input: usize, output: usize) -> Vec<(usize, usize, f64)> {
    let scale = input as f64 / output as f64;
    (0..output)
        .map(|o| {
            let source = ((o as f64 + 0.5) * scale - 0.5).max(0.0);
            let lower = (source.floor() as usize).min(input - 1);
            let upper = (lower + 1).min(input - 1);
            (lower, upper, source - lower as f64)
        })
        .collect()
}

/// The `[output, input]` row-major matrix of 1-D bilinear interpolation with half-pixel
/// centres, the dense reference for the upsampling's tests: output pixel `o` samples input
/// coordinate `(o + 0.5)·input/output − 0.5`, clamped to the first and last pixel (the taps of
/// `bilinear_taps`).
pub fn bilinear_matrix(input: usize, output: usize) -> Vec<f32> {
    let mut matrix = vec![0.0f32; output * input];
    for (o, (lower, upper, weight_upper)) in bilinear_taps(input, output).into_iter().enumerate() {
        matrix[o * input + lower] += (1.0 - weight_upper) as f32;
        matrix[o * input + upper] += weight_upper as f32;
    }
    matrix
}

/// Upsamples by 2 in height and width with bilinear interpolation (half-pixel centres).
///
/// # Shapes
/// - `input`: `[batch, channels, height, width]`
/// - output: `[batch, channels, 2·height, 2·width]`, same dtype and device
pub fn upsample_bilinear_2x<B: Backend>(input: Tensor<B, 4>) -> Tensor<B, 4> {
    if host_kernels_apply::<B>(input.dtype())
        && let Some(output) = stencil::upsample_ad(&input).or_else(|| stencil::upsample_inner(&input))
    {
        return output;
    }
    upsample_by_shifts(input)
}

/// [`upsample_bilinear_2x`] from burn's slicing, concatenation and elementwise ops, which
/// differentiate on every backend: along each axis, output `2i` is `¼·x[i−1] + ¾·x[i]` and
/// output `2i+1` is `¾·x[i] + ¼·x[i+1]`, with the neighbours clamped at the edges (the taps of
/// [`bilinear_taps`] for a factor of 2).
///
/// No matrix product: cubecl 0.10's matmul returns wrong values for some shapes with a
/// transposed right-hand side on Mesa's llvmpipe, and the backward pass of `X · A_wᵀ` is one
/// (docs/testing.md, the wgpu agreement test).
fn upsample_by_shifts<B: Backend>(input: Tensor<B, 4>) -> Tensor<B, 4> {
    let wide = upsample_axis(input, 3);
    upsample_axis(wide, 2)
}

/// Doubles `input` along `axis` (2 or 3) with the two-tap half-pixel stencil.
fn upsample_axis<B: Backend>(input: Tensor<B, 4>, axis: usize) -> Tensor<B, 4> {
    let mut dims = input.dims();
    let size = dims[axis];
    let along = |range: std::ops::Range<usize>| input.clone().narrow(axis, range.start, range.len());
    // x[i−1] and x[i+1], each clamped to the edge pixel.
    let (previous, next) = if size == 1 {
        (input.clone(), input.clone())
    } else {
        (
            Tensor::cat(vec![along(0..1), along(0..size - 1)], axis),
            Tensor::cat(vec![along(1..size), along(size - 1..size)], axis),
        )
    };
    let even = previous.mul_scalar(0.25).add(input.clone().mul_scalar(0.75));
    let odd = input.mul_scalar(0.75).add(next.mul_scalar(0.25));
    // [.., size, 2, ..] interleaves even and odd outputs when flattened to [.., 2·size, ..].
    let interleaved: Tensor<B, 5> = Tensor::stack(vec![even, odd], axis + 1);
    dims[axis] = 2 * size;
    interleaved.reshape(dims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::host_calls;
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::TensorData;

    type B = Flex;

    #[test]
    fn matrix_rows_sum_to_one_and_match_half_pixel_taps() {
        let m = bilinear_matrix(4, 8);
        for row in m.chunks(4) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        // Output 0 samples -0.25 -> clamped to pixel 0; output 1 samples 0.25 -> 0.75·p0 + 0.25·p1;
        // output 7 samples 3.25 -> clamped to pixel 3.
        assert_eq!(&m[0..4], &[1.0, 0.0, 0.0, 0.0]);
        assert_eq!(&m[4..8], &[0.75, 0.25, 0.0, 0.0]);
        assert_eq!(&m[28..32], &[0.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn upsample_matches_reference_on_small_input() {
        // Reference: torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear",
        // align_corners=False) for x = [[1, 2], [3, 4]] (one channel), worked by hand:
        // 1-D taps for 2 -> 4 are [1, 0], [.75, .25], [.25, .75], [0, 1], so every row
        // r = [1, 2] becomes [1, 1.25, 1.75, 2] and the columns mix rows the same way.
        let device = Default::default();
        let x = Tensor::<B, 4>::from_floats([[[[1.0, 2.0], [3.0, 4.0]]]], &device);
        let calls = host_calls();
        let y = upsample_bilinear_2x(x);
        assert_eq!(host_calls() - calls, 1, "host kernel runs");
        let expected = TensorData::from([[[
            [1.0f32, 1.25, 1.75, 2.0],
            [1.5, 1.75, 2.25, 2.5],
            [2.5, 2.75, 3.25, 3.5],
            [3.0, 3.25, 3.75, 4.0],
        ]]]);
        y.into_data()
            .assert_approx_eq::<f32>(&expected, burn::tensor::Tolerance::absolute(1e-6));
    }

    #[test]
    fn upsample_keeps_batch_and_channels_apart() {
        // Each [h, w] image must be upsampled on its own: compare a batched call with
        // per-image calls on a 2×3×4×4 ramp.
        let device = Default::default();
        let x = Tensor::<B, 1, burn::tensor::Int>::arange(0..96, &device)
            .float()
            .reshape([2, 3, 4, 4]);
        let calls = host_calls();
        let batched = upsample_bilinear_2x(x.clone());
        assert_eq!(host_calls() - calls, 1, "host kernel runs");
        assert_eq!(batched.dims(), [2, 3, 8, 8]);
        for b in 0..2 {
            for c in 0..3 {
                let single = upsample_bilinear_2x(x.clone().slice([b..b + 1, c..c + 1]));
                let part = batched.clone().slice([b..b + 1, c..c + 1]);
                part.into_data()
                    .assert_approx_eq::<f32>(&single.into_data(), burn::tensor::Tolerance::absolute(1e-5));
            }
        }
    }

    /// `A_h · X · A_wᵀ` for one `[height, width]` plane, in f64 on the host.
    fn dense_upsample(plane: &[f64], height: usize, width: usize) -> Vec<f64> {
        let (rows, columns) = (bilinear_matrix(height, 2 * height), bilinear_matrix(width, 2 * width));
        let mut output = vec![0.0; 4 * height * width];
        for (o, out) in output.iter_mut().enumerate() {
            let (r, c) = (o / (2 * width), o % (2 * width));
            for i in 0..height {
                for j in 0..width {
                    *out += f64::from(rows[r * height + i]) * plane[i * width + j] * f64::from(columns[c * width + j]);
                }
            }
        }
        output
    }

    #[test]
    fn shifted_stencil_matches_the_dense_interpolation_matrices() {
        // The generic path, called directly (on flex the host stencil would take over), against
        // the two matrix products on odd, even and single-pixel sides.
        let device = Default::default();
        for [batch, channels, height, width] in [[2, 3, 5, 4], [1, 1, 1, 1], [1, 2, 2, 7], [2, 1, 4, 1]] {
            let count = batch * channels * height * width;
            let values: Vec<f64> = (0..count).map(|i| ((i * 37 % 101) as f64 / 50.0) - 1.0).collect();
            let input = Tensor::<B, 4>::from_data(
                TensorData::new(values.clone(), [batch, channels, height, width]),
                (&device, burn::tensor::DType::F64),
            );
            let ours = upsample_by_shifts(input);
            assert_eq!(ours.dims(), [batch, channels, 2 * height, 2 * width]);
            let ours = ours.into_data().to_vec::<f64>().expect("f64");
            let expected: Vec<f64> = values
                .chunks(height * width)
                .flat_map(|plane| dense_upsample(plane, height, width))
                .collect();
            for (index, (a, e)) in ours.iter().zip(&expected).enumerate() {
                assert!((a - e).abs() < 1e-12, "{height}×{width} [{index}]: {a} vs {e}");
            }
        }
    }

    #[test]
    fn upsample_has_a_backward_pass() {
        // d(sum(up(x)))/dx = column sums of A_h times column sums of A_w: with 2 -> 4 taps
        // every input pixel receives 1 + .75 + .25 = 2 per axis, so 4 everywhere.
        let device = Default::default();
        let x = Tensor::<Autodiff<B>, 4>::ones([1, 1, 2, 2], &device).require_grad();
        let calls = host_calls();
        let grads = upsample_bilinear_2x(x.clone()).sum().backward();
        assert_eq!(host_calls() - calls, 2, "host kernel runs, forward and backward");
        let grad = x.grad(&grads).expect("x requires grad");
        grad.into_data().assert_approx_eq::<f32>(
            &TensorData::from([[[[4.0f32, 4.0], [4.0, 4.0]]]]),
            burn::tensor::Tolerance::absolute(1e-6),
        );
    }
}
