//! The convolution's gradients: the input gradient as `Wᵀ` times the output gradient rolled
//! back onto the pixels, the weight gradient as per-group products summed in a fixed order,
//! and the bias gradient as a plain sum.

use rayon::prelude::*;

use super::forward::for_each_kernel_row;
use super::geometry::Geometry;
use super::matmul::{View, matmul, matmul_new};
use super::single_output;
use super::unroll::{Scratch, deinterleave, interleaved, roll_add, weights_from_kernel_rows};
use crate::host::{Real, zeros};

/// Elements per parallel task when partial sums are added.
const SUM_CHUNK: usize = 1 << 14;

/// Parallel runs a weight gradient is summed in, fixed so that the sum order is too.
const PARTS: usize = 8;

/// `dL/dx` from `grad = dL/dy` (the transposed convolution of `grad`).
///
/// # Shapes
/// - `grad`: `[N, C_out, L]`; `weight`: `[C_out, K]`
/// - output: `[N, C_in, H, W]`
pub fn input_grad<T: Real>(g: &Geometry, grad: &[T], weight: &[T]) -> Vec<T> {
    if g.channels_out == 1 {
        return single_output::input_grad(g, grad, weight);
    }
    let [k, len, channels] = [g.patch_len(), g.output_len(), g.channels_out];
    let group = g.group();
    let mut x_grad = zeros(g.batch * g.image_len());
    x_grad
        .par_chunks_mut(group * g.image_len())
        .zip(grad.par_chunks(group * channels * len))
        .for_each_init(
            || Scratch::new(g, group),
            |scratch, (x_group, grad_group)| {
                let images = x_group.len() / g.image_len();
                let width = images * len;
                let grad = interleaved(grad_group, images, &mut scratch.outputs);
                let summed = match images {
                    1 => &mut *x_group,
                    _ => &mut scratch.images[..x_group.len()],
                };
                summed.fill(T::ZERO);
                for chunk in g.channel_chunks(g.kernel_area()) {
                    let first_row = chunk.start * g.kernel_area();
                    // Rows first_row.. of Wᵀ: element (kk, c) of the [K, C_out] transpose
                    // is weight[c·K + kk].
                    let lhs = View {
                        data: &weight[first_row..],
                        rows: chunk.len() * g.kernel_area(),
                        cols: channels,
                        row_stride: 1,
                        col_stride: k,
                    };
                    let rhs = View {
                        data: grad,
                        rows: channels,
                        cols: width,
                        row_stride: width,
                        col_stride: 1,
                    };
                    matmul_new(&mut scratch.cols, lhs, rhs);
                    roll_add(g, images, chunk, &scratch.cols, summed);
                }
                if images > 1 {
                    deinterleave(&scratch.images[..x_group.len()], images, x_group);
                }
            },
        );
    x_grad
}

/// `dL/dweight` from the input `x` and `grad = dL/dy`.
///
/// # Shapes
/// - `x`: `[N, C_in, H, W]`; `grad`: `[N, C_out, L]`
/// - output: `[C_out, K]`
pub fn weight_grad<T: Real>(g: &Geometry, x: &[T], grad: &[T]) -> Vec<T> {
    if g.channels_out == 1 {
        return single_output::weight_grad(g, x, grad);
    }
    let [k, len, channels] = [g.patch_len(), g.output_len(), g.channels_out];
    let group = g.group();
    let pairs: Vec<_> = x
        .chunks(group * g.image_len())
        .zip(grad.chunks(group * channels * len))
        .collect();
    let by_row = summed_in_parts(&pairs, channels * k, |sum, part| {
        let mut scratch = Scratch::new(g, group);
        for (x_group, grad_group) in part {
            let images = x_group.len() / g.image_len();
            let input = interleaved(x_group, images, &mut scratch.images);
            let grad = interleaved(grad_group, images, &mut scratch.outputs);
            weight_grad_by_kernel_rows(g, images, input, grad, &mut scratch.cols, sum);
        }
    });
    weights_from_kernel_rows(g, &by_row)
}

/// One group's weight gradient, added to `sum` (`[k_h, C_out, C_in·k_w]`, see
/// [`weights_by_kernel_row`](super::unroll::weights_by_kernel_row)): the output gradient
/// times each kernel row's patch matrix, transposed.
fn weight_grad_by_kernel_rows<T: Real>(
    g: &Geometry,
    images: usize,
    input: &[T],
    grad: &[T],
    cols: &mut Vec<T>,
    sum: &mut [T],
) {
    let channels = g.channels_out;
    let width = images * g.output_len();
    let by_row_len = g.channels_in * g.kernel[1];
    let lhs = View {
        data: grad,
        rows: channels,
        cols: width,
        row_stride: width,
        col_stride: 1,
    };
    for_each_kernel_row(g, images, input, cols, |i, first_column, patches| {
        let dst = &mut sum[i * channels * by_row_len + first_column..];
        matmul(dst, by_row_len, lhs, patches.transposed(), true);
    });
}

/// Work split into [`PARTS`] fixed runs of `items`, each summed into its own buffer of
/// `len` zeros by `add` (in parallel), then the buffers added in order (in parallel over the
/// elements): the same result on any number of threads, so training stays reproducible.
pub(super) fn summed_in_parts<I: Sync, T: Real>(
    items: &[I],
    len: usize,
    add: impl Fn(&mut [T], &[I]) + Sync,
) -> Vec<T> {
    let per_part = items.len().div_ceil(PARTS).max(1);
    let mut partials: Vec<Vec<T>> = items
        .par_chunks(per_part)
        .map(|part| {
            let mut sum = vec![T::ZERO; len];
            add(&mut sum, part);
            sum
        })
        .collect();
    let Some((total, rest)) = partials.split_first_mut() else {
        return zeros(len);
    };
    total.par_chunks_mut(SUM_CHUNK).enumerate().for_each(|(chunk, out)| {
        for partial in rest.iter() {
            let source = &partial[chunk * SUM_CHUNK..][..out.len()];
            out.iter_mut().zip(source).for_each(|(t, p)| *t += *p);
        }
    });
    partials.swap_remove(0)
}

/// `dL/dbias`: `grad` summed over images and positions.
///
/// # Shapes
/// - `grad`: `[N, C_out, L]`
/// - output: `[C_out]`
pub fn bias_grad<T: Real>(g: &Geometry, grad: &[T]) -> Vec<T> {
    let mut sum = vec![T::ZERO; g.channels_out];
    for image in grad.chunks(g.output_image_len()) {
        for (total, row) in sum.iter_mut().zip(image.chunks(g.output_len())) {
            row.iter().for_each(|value| *total += *value);
        }
    }
    sum
}
