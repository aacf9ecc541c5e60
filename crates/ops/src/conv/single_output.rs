//! Convolutions with one output channel (the generator's image layer) as matrix products
//! over kernel taps instead of unrolled patches.
//!
//! With one output channel an unrolled product is a `[1, K]·[K, L]` vector product, bound by
//! memory. Here the `T = k_h·k_w` kernel taps take the place of the output channels: each
//! pass is one `[T, C_in]`/`[C_in, T]` product per image over the `P = H·W` input pixels,
//! plus a shifted add (forward) or a shifted copy (backward) of `T` planes. `W_in` below is
//! the input width; the tap offset of tap `t` maps output position `p` to input pixel
//! `q(p, t)`, and positions that read the padding are skipped.

use std::ops::Range;

use rayon::prelude::*;

use super::backward::summed_in_parts;
use super::geometry::Geometry;
use super::matmul::{View, matmul};
use super::unroll::for_each_patch_row;
use crate::host::{Real, zeros};

/// Visits every (tap `t`, output row `y`) whose input row lies inside the image, with that
/// row, the output columns that read inside the image and the first input column they read.
fn for_each_tap_row(g: &Geometry, mut visit: impl FnMut(usize, usize, usize, Range<usize>, usize)) {
    let plane = Geometry { channels_in: 1, ..*g };
    for_each_patch_row(&plane, 0..1, |tap, y, input_row, columns, first_column| {
        if let Some(row) = input_row.filter(|_| !columns.is_empty()) {
            visit(tap, y, row, columns, first_column);
        }
    });
}

/// `[T, P]` planes of one image's output gradient `[L]` placed where each tap read:
/// `planes[t, q(p, t)] = grad[p]`, zero at pixels tap `t` never read.
fn spread<T: Real>(g: &Geometry, grad: &[T], planes: &mut [T]) {
    let [plane, width, out_width, stride] = [g.input[0] * g.input[1], g.input[1], g.output[1], g.stride[1]];
    planes.fill(T::ZERO);
    for_each_tap_row(g, |tap, y, row, columns, first_column| {
        let source = &grad[y * out_width..][columns];
        let target = &mut planes[tap * plane + row * width + first_column..tap * plane + (row + 1) * width];
        if stride == 1 {
            target[..source.len()].copy_from_slice(source);
        } else {
            for (pixel, value) in target.iter_mut().step_by(stride).zip(source) {
                *pixel = *value;
            }
        }
    });
}

/// `y = conv(x, weight) + bias` for `C_out = 1`: `Z = Wᵀ·X` per image (`[T, C_in]·[C_in, P]`),
/// then `y[p] = bias + Σ_t Z[t, q(p, t)]`.
///
/// # Shapes
/// - `x`: `[N, C_in, H, W]`; `weight`: `[1, C_in·T]`; `bias`: `[1]`
/// - output: `[N, 1, L]`
pub(super) fn forward<T: Real>(g: &Geometry, x: &[T], weight: &[T], bias: Option<&[T]>) -> Vec<T> {
    let [taps, plane, len] = [g.kernel[0] * g.kernel[1], g.input[0] * g.input[1], g.output_len()];
    let [width, out_width, stride] = [g.input[1], g.output[1], g.stride[1]];
    let bias = bias.map_or(T::ZERO, |bias| bias[0]);
    let mut y = vec![bias; g.batch * len];
    y.par_chunks_mut(len).zip(x.par_chunks(g.image_len())).for_each_init(
        || vec![T::ZERO; taps * plane],
        |tap_planes, (out, image)| {
            // Wᵀ: element (t, c) of the [T, C_in] transpose is weight[c·T + t].
            let lhs = View {
                data: weight,
                rows: taps,
                cols: g.channels_in,
                row_stride: 1,
                col_stride: taps,
            };
            let rhs = View {
                data: image,
                rows: g.channels_in,
                cols: plane,
                row_stride: plane,
                col_stride: 1,
            };
            matmul(tap_planes, plane, lhs, rhs, false);
            for_each_tap_row(g, |tap, y, row, columns, first_column| {
                let target = &mut out[y * out_width..][columns];
                let source = &tap_planes[tap * plane + row * width + first_column..tap * plane + (row + 1) * width];
                if stride == 1 {
                    target.iter_mut().zip(source).for_each(|(value, z)| *value += *z);
                } else {
                    for (value, z) in target.iter_mut().zip(source.iter().step_by(stride)) {
                        *value += *z;
                    }
                }
            });
        },
    );
    y
}

/// `dL/dx` for `C_out = 1`: `dx = W·S` per image (`[C_in, T]·[T, P]`) with `S` the spread
/// output gradient.
///
/// # Shapes
/// - `grad`: `[N, 1, L]`; `weight`: `[1, C_in·T]`
/// - output: `[N, C_in, H, W]`
pub(super) fn input_grad<T: Real>(g: &Geometry, grad: &[T], weight: &[T]) -> Vec<T> {
    let [taps, plane, len] = [g.kernel[0] * g.kernel[1], g.input[0] * g.input[1], g.output_len()];
    let mut x_grad = zeros(g.batch * g.image_len());
    x_grad
        .par_chunks_mut(g.image_len())
        .zip(grad.par_chunks(len))
        .for_each_init(
            || vec![T::ZERO; taps * plane],
            |spread_grad, (image_grad, out_grad)| {
                spread(g, out_grad, spread_grad);
                let lhs = View {
                    data: weight,
                    rows: g.channels_in,
                    cols: taps,
                    row_stride: taps,
                    col_stride: 1,
                };
                let rhs = View {
                    data: spread_grad,
                    rows: taps,
                    cols: plane,
                    row_stride: plane,
                    col_stride: 1,
                };
                matmul(image_grad, plane, lhs, rhs, false);
            },
        );
    x_grad
}

/// `dL/dweight` for `C_out = 1`: `dW = Σ_images X·Sᵀ` (`[C_in, P]·[P, T]`), summed in a
/// fixed order.
///
/// # Shapes
/// - `x`: `[N, C_in, H, W]`; `grad`: `[N, 1, L]`
/// - output: `[1, C_in·T]`
pub(super) fn weight_grad<T: Real>(g: &Geometry, x: &[T], grad: &[T]) -> Vec<T> {
    let [taps, plane] = [g.kernel[0] * g.kernel[1], g.input[0] * g.input[1]];
    let pairs: Vec<_> = x.chunks(g.image_len()).zip(grad.chunks(g.output_len())).collect();
    summed_in_parts(&pairs, g.channels_in * taps, |sum, part| {
        let mut spread_grad = vec![T::ZERO; taps * plane];
        for (image, out_grad) in part {
            spread(g, out_grad, &mut spread_grad);
            let lhs = View {
                data: image,
                rows: g.channels_in,
                cols: plane,
                row_stride: plane,
                col_stride: 1,
            };
            // Sᵀ: element (q, t) of the [P, T] transpose is spread_grad[t·P + q].
            let rhs = View {
                data: &spread_grad,
                rows: plane,
                cols: taps,
                row_stride: 1,
                col_stride: plane,
            };
            matmul(sum, taps, lhs, rhs, true);
        }
    })
}
