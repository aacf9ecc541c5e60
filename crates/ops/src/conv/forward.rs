//! The convolution's output: per group of images, one product per kernel row over the
//! unrolled horizontal taps, summed.

use rayon::prelude::*;

use super::geometry::Geometry;
use super::matmul::{View, matmul};
use super::single_output;
use super::unroll::{
    Scratch, deinterleave, interleaved, kernel_row_offset, rows_per_phase, unroll_columns, weights_by_kernel_row,
};
use crate::host::{Real, zeros};

/// `y = conv(x, weight) + bias`.
///
/// # Shapes
/// - `x`: `[N, C_in, H, W]`; `weight`: `[C_out, K]`; `bias`: `[C_out]`
/// - output: `[N, C_out, L]`
pub fn forward<T: Real>(g: &Geometry, x: &[T], weight: &[T], bias: Option<&[T]>) -> Vec<T> {
    if g.channels_out == 1 {
        return single_output::forward(g, x, weight, bias);
    }
    let [len, channels] = [g.output_len(), g.channels_out];
    let group = g.group();
    let weights_by_row = weights_by_kernel_row(g, weight);
    let mut y = zeros(g.batch * channels * len);
    y.par_chunks_mut(group * channels * len)
        .zip(x.par_chunks(group * g.image_len()))
        .for_each_init(
            || Scratch::new(g, group),
            |scratch, (y_group, x_group)| {
                let images = x_group.len() / g.image_len();
                let width = images * len;
                let input = interleaved(x_group, images, &mut scratch.images);
                forward_by_kernel_rows(
                    g,
                    images,
                    input,
                    &weights_by_row,
                    &mut scratch.cols,
                    &mut scratch.outputs,
                );
                deinterleave(&scratch.outputs[..channels * width], images, y_group);
                if let Some(bias) = bias {
                    for (row, bias) in y_group.chunks_mut(len).zip(bias.iter().cycle()) {
                        row.iter_mut().for_each(|value| *value += *bias);
                    }
                }
            },
        );
    y
}

/// Per channel chunk, [`unroll_columns`] once, then `visit(i, first_column, patches)` for
/// each kernel row `i`: `patches` (`[chunk·k_w, L·images]`) is that row's patch matrix read
/// in place, and `first_column` the chunk's first column in [`weights_by_kernel_row`]'s rows.
pub(super) fn for_each_kernel_row<T: Real>(
    g: &Geometry,
    images: usize,
    input: &[T],
    cols: &mut Vec<T>,
    mut visit: impl FnMut(usize, usize, View<T>),
) {
    let kernel_w = g.kernel[1];
    let row_width = g.output[1] * images;
    for chunk in g.channel_chunks(kernel_w) {
        let first_column = chunk.start * kernel_w;
        let rows = chunk.len() * kernel_w;
        unroll_columns(g, images, input, chunk, cols);
        for i in 0..g.kernel[0] {
            let patches = View {
                data: &cols[kernel_row_offset(g, i) * row_width..],
                rows,
                cols: g.output[0] * row_width,
                row_stride: g.stride[0] * rows_per_phase(g) * row_width,
                col_stride: 1,
            };
            visit(i, first_column, patches);
        }
    }
}

/// One group's product (into `outputs`, `[C_out, L, images]`): the weights of each kernel
/// row times its patch matrix, summed.
fn forward_by_kernel_rows<T: Real>(
    g: &Geometry,
    images: usize,
    input: &[T],
    weights_by_row: &[T],
    cols: &mut Vec<T>,
    outputs: &mut [T],
) {
    let channels = g.channels_out;
    let width = images * g.output_len();
    let by_row_len = g.channels_in * g.kernel[1];
    let mut first = true;
    for_each_kernel_row(g, images, input, cols, |i, first_column, patches| {
        let lhs = View {
            data: &weights_by_row[i * channels * by_row_len + first_column..],
            rows: channels,
            cols: patches.rows,
            row_stride: by_row_len,
            col_stride: 1,
        };
        matmul(outputs, width, lhs, patches, !first);
        first = false;
    });
}
