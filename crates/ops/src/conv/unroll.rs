//! The image-to-column unroll and its adjoint on interleaved groups of images: the patch
//! rows (of the horizontal taps only, for the products), the weights regrouped to match,
//! the roll-back of a patch matrix onto the pixels it read, and the groups' working memory.

use std::ops::Range;

use rayon::prelude::*;

use super::geometry::{Geometry, valid_range};
use crate::host::{Real, zeros};

/// Visits every (patch row `k`, output row `y`) of `channels` of one image's unrolled
/// patches, in order, with the input row it reads (`None` where the patch row lies in the
/// padding), the output columns that read inside the image, and the first input column
/// they read. `k` counts from the first visited row.
pub(super) fn for_each_patch_row(
    g: &Geometry,
    channels: Range<usize>,
    mut visit: impl FnMut(usize, usize, Option<usize>, Range<usize>, usize),
) {
    let [height, width] = g.input;
    let [out_height, out_width] = g.output;
    let [kernel_h, kernel_w] = g.kernel;
    let [stride_h, stride_w] = g.stride;
    let [pad_h, pad_w] = g.padding;
    let first_channel = channels.start;
    for channel in channels {
        for i in 0..kernel_h {
            let rows = valid_range(out_height, height, stride_h, i, pad_h);
            for j in 0..kernel_w {
                let columns = valid_range(out_width, width, stride_w, j, pad_w);
                let first_column = (columns.start * stride_w + j).saturating_sub(pad_w);
                let k = ((channel - first_channel) * kernel_h + i) * kernel_w + j;
                for y in 0..out_height {
                    let input_row = rows.contains(&y).then(|| channel * height + y * stride_h + i - pad_h);
                    visit(k, y, input_row, columns.clone(), first_column);
                }
            }
        }
    }
}

/// Appends one unrolled row, `[W_out, images]`: the input row `source` (`[W, images]`) read
/// at `columns` from `first_column` on with the geometry's column stride, zeros elsewhere
/// and everywhere without a row.
#[inline(always)]
fn push_patch_row<T: Real>(
    g: &Geometry,
    images: usize,
    source: Option<&[T]>,
    columns: Range<usize>,
    first_column: usize,
    cols: &mut Vec<T>,
) {
    let [out_width, stride] = [g.output[1], g.stride[1]];
    let Some(row) = source.filter(|_| !columns.is_empty()) else {
        cols.resize(cols.len() + out_width * images, T::ZERO);
        return;
    };
    cols.resize(cols.len() + columns.start * images, T::ZERO);
    let source = &row[first_column * images..];
    if stride == 1 {
        cols.extend_from_slice(&source[..columns.len() * images]);
    } else if images == 1 {
        cols.extend(source.iter().step_by(stride).take(columns.len()));
    } else {
        for from in source.chunks(stride * images).take(columns.len()) {
            cols.extend_from_slice(&from[..images]);
        }
    }
    cols.resize(cols.len() + (out_width - columns.end) * images, T::ZERO);
}

/// Zero-padded input rows per row phase: `H_out + ⌊(k_h − 1) / s_h⌋`. Phase `φ < s_h` holds
/// padded rows `φ, φ + s_h, φ + 2·s_h, …`; padded row `r` is input row `r − padding_h`.
pub(super) fn rows_per_phase(g: &Geometry) -> usize {
    g.output[0] + (g.kernel[0] - 1) / g.stride[0]
}

/// Offset of kernel row `i`'s patch rows in [`unroll_columns`]' matrix, in rows of
/// `W_out·images`: output row `y` reads padded row `y·s_h + i`, which is row `y + ⌊i / s_h⌋`
/// of phase `i mod s_h`.
pub(super) fn kernel_row_offset(g: &Geometry, i: usize) -> usize {
    (i % g.stride[0]) * rows_per_phase(g) + i / g.stride[0]
}

/// The horizontal taps only of `channels` of `images` interleaved images (`input`:
/// `[C_in, H, W, images]`), over every zero-padded input row split by row phase:
/// `[channels, k_w, s_h, R, W_out, images]` with R = [`rows_per_phase`], replacing `cols`'
/// contents. Kernel row `i`'s patch rows are this matrix shifted by
/// [`kernel_row_offset`]`(i)` rows, so it is about `k_h / s_h` times smaller than the full
/// unrolled matrix and the products read it in place. Every element is appended in order, so
/// a reused buffer is never zeroed first.
pub(super) fn unroll_columns<T: Real>(
    g: &Geometry,
    images: usize,
    input: &[T],
    channels: Range<usize>,
    cols: &mut Vec<T>,
) {
    let [height, width] = g.input;
    let [kernel_w, stride_h, stride_w] = [g.kernel[1], g.stride[0], g.stride[1]];
    let [pad_h, pad_w] = g.padding;
    let row_len = width * images;
    let len = channels.len() * kernel_w * stride_h * rows_per_phase(g) * g.output[1] * images;
    cols.clear();
    cols.reserve(len);
    for channel in channels {
        for j in 0..kernel_w {
            let columns = valid_range(g.output[1], width, stride_w, j, pad_w);
            let first_column = (columns.start * stride_w + j).saturating_sub(pad_w);
            for phase in 0..stride_h {
                for t in 0..rows_per_phase(g) {
                    let source = (phase + t * stride_h)
                        .checked_sub(pad_h)
                        .filter(|&row| row < height)
                        .map(|row| &input[(channel * height + row) * row_len..][..row_len]);
                    push_patch_row(g, images, source, columns.clone(), first_column, cols);
                }
            }
        }
    }
    debug_assert_eq!(cols.len(), len);
}

/// The weights regrouped by kernel row, `[k_h, C_out, C_in·k_w]`, to multiply
/// [`unroll_columns`]' matrix: element `(i, o, c·k_w + j)` is weight `(o, c, i, j)`.
pub(super) fn weights_by_kernel_row<T: Real>(g: &Geometry, weight: &[T]) -> Vec<T> {
    let kernel_w = g.kernel[1];
    let mut regrouped = zeros(weight.len());
    // One row of the result per (kernel row i, filter o), i-major.
    regrouped
        .par_chunks_mut(g.channels_in * kernel_w)
        .enumerate()
        .for_each(|(row, out)| {
            let [i, filter] = [row / g.channels_out, row % g.channels_out];
            let channels = weight[filter * g.patch_len()..][..g.patch_len()].chunks_exact(g.kernel_area());
            for (taps, channel) in out.chunks_exact_mut(kernel_w).zip(channels) {
                taps.copy_from_slice(&channel[i * kernel_w..][..kernel_w]);
            }
        });
    regrouped
}

/// The inverse of [`weights_by_kernel_row`]: `[k_h, C_out, C_in·k_w]` back to `[C_out, K]`.
pub(super) fn weights_from_kernel_rows<T: Real>(g: &Geometry, by_row: &[T]) -> Vec<T> {
    let kernel_w = g.kernel[1];
    let by_row_len = g.channels_in * kernel_w;
    let mut weight = zeros(by_row.len());
    weight
        .par_chunks_mut(g.patch_len())
        .enumerate()
        .for_each(|(filter, out)| {
            for (channel, taps) in out.chunks_exact_mut(g.kernel_area()).enumerate() {
                for (i, tap_row) in taps.chunks_exact_mut(kernel_w).enumerate() {
                    let from = (i * g.channels_out + filter) * by_row_len + channel * kernel_w;
                    tap_row.copy_from_slice(&by_row[from..][..kernel_w]);
                }
            }
        });
    debug_assert_eq!(g.kernel[0] * g.channels_out * by_row_len, by_row.len());
    weight
}

/// The adjoint of the im2col unroll: adds `cols` (`[channels·k_h·k_w, L, images]`, the patch
/// rows of `channels`) back onto the pixels of `output` (`[C_in, H, W, images]`) they read.
pub(super) fn roll_add<T: Real>(g: &Geometry, images: usize, channels: Range<usize>, cols: &[T], output: &mut [T]) {
    let [width, out_width, stride] = [g.input[1], g.output[1], g.stride[1]];
    let row_len = g.output_len() * images;
    for_each_patch_row(g, channels, |k, y, input_row, columns, first_column| {
        let Some(row) = input_row.filter(|_| !columns.is_empty()) else {
            return;
        };
        let inside = &cols[k * row_len + (y * out_width + columns.start) * images..][..columns.len() * images];
        let target = &mut output[(row * width + first_column) * images..(row + 1) * width * images];
        if stride == 1 {
            target
                .iter_mut()
                .zip(inside)
                .for_each(|(pixel, value)| *pixel += *value);
        } else if images == 1 {
            for (pixel, value) in target.iter_mut().step_by(stride).zip(inside) {
                *pixel += *value;
            }
        } else {
            for (pixel, values) in target.chunks_mut(stride * images).zip(inside.chunks_exact(images)) {
                pixel.iter_mut().zip(values).for_each(|(pixel, value)| *pixel += *value);
            }
        }
    });
}

/// `images` consecutive blocks of `blocks` to one interleaved block: element `e` of block
/// `b` goes to `out[e·images + b]`.
fn interleave<T: Real>(blocks: &[T], images: usize, out: &mut [T]) {
    let len = blocks.len() / images;
    for (image, block) in blocks.chunks_exact(len).enumerate() {
        for (slot, value) in out[image..].iter_mut().step_by(images).zip(block) {
            *slot = *value;
        }
    }
}

/// The inverse of [`interleave`].
pub(super) fn deinterleave<T: Real>(interleaved: &[T], images: usize, blocks: &mut [T]) {
    let len = blocks.len() / images;
    for (image, block) in blocks.chunks_exact_mut(len).enumerate() {
        for (value, slot) in block.iter_mut().zip(interleaved[image..].iter().step_by(images)) {
            *value = *slot;
        }
    }
}

/// `blocks` (`images` consecutive blocks) interleaved into `scratch`, or `blocks` itself for
/// one image.
pub(super) fn interleaved<'a, T: Real>(blocks: &'a [T], images: usize, scratch: &'a mut [T]) -> &'a [T] {
    if images == 1 {
        return blocks;
    }
    interleave(blocks, images, scratch);
    scratch
}

/// Per-group working memory: interleaved images, an unrolled matrix, and interleaved
/// outputs (or output gradients). The unrolled matrix, several times larger than the
/// others, starts empty, grows to the largest chunk it holds, and is always written whole,
/// never zeroed.
pub(super) struct Scratch<T> {
    pub(super) images: Vec<T>,
    pub(super) cols: Vec<T>,
    pub(super) outputs: Vec<T>,
}

impl<T: Real> Scratch<T> {
    pub(super) fn new(g: &Geometry, group: usize) -> Self {
        Self {
            images: vec![T::ZERO; group * g.image_len()],
            cols: Vec::new(),
            outputs: vec![T::ZERO; group * g.output_image_len()],
        }
    }
}
