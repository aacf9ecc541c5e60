//! 2-D convolution on host slices as image-to-column matrix products.
//!
//! Layouts are row-major: images `[N, C_in, H, W]`, weights `[C_out, K]` with
//! `K = C_in·k_h·k_w` in `(c_in, i, j)` order (burn's `[C_out, C_in, k_h, k_w]`), outputs and
//! their gradients `[N, C_out, L]` with `L = H_out·W_out`.
//!
//! A group of `G` images is first interleaved, `[C, H, W, G]`, so that one pixel of all `G`
//! images is contiguous and every unrolled row is copied in runs of `G` or more values;
//! a group has at least [`MIN_COLUMNS`] output columns `L·G`, so each product is large.
//!
//! The forward pass and the weight gradient unroll only the `k_w` horizontal taps, over
//! every zero-padded input row (split into `s_h` row phases for a vertical stride `s_h`):
//! kernel row `i`'s patch rows are that matrix shifted by a whole number of rows, read in
//! place by one product per kernel row, so about `k_h / s_h` times less is written and read
//! than by a full unroll. The weight gradient is these products per group, accumulated, not
//! a convolution over the batch axis. The input gradient is `Wᵀ` times the output gradient,
//! `[K, L·G]`, whose rows are added back onto the pixels they were read from.

use std::ops::Range;

use rayon::prelude::*;

use crate::host::{Real, zeros};

mod single_output;

/// Columns a matrix product should have at least; smaller outputs are grouped over images.
const MIN_COLUMNS: usize = 512;

/// Rows of an unrolled matrix made at a time, at most (unless one channel has more): a
/// chunk of it stays in cache from being written to being read, where the whole matrix
/// (13 MB for the input gradient of a 256-channel 5×5 layer) would not. gemm blocks its
/// inner dimension by about this much anyway.
const CHUNK_ROWS: usize = 512;

/// Elements per parallel task when partial sums are added.
const SUM_CHUNK: usize = 1 << 14;

/// Parallel runs a weight gradient is summed in, fixed so that the sum order is too.
const PARTS: usize = 8;

/// Sizes of one convolution with one group and no dilation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Images in the batch.
    pub batch: usize,
    /// Input channels.
    pub channels_in: usize,
    /// Output channels.
    pub channels_out: usize,
    /// Input height and width.
    pub input: [usize; 2],
    /// Output height and width.
    pub output: [usize; 2],
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride along height and width.
    pub stride: [usize; 2],
    /// Zero rows (columns) before the first input row (column); trailing padding is implied
    /// by `output`.
    pub padding: [usize; 2],
}

impl Geometry {
    /// `K = C_in·k_h·k_w`, the length of one unrolled patch.
    pub fn patch_len(&self) -> usize {
        self.channels_in * self.kernel[0] * self.kernel[1]
    }

    /// `L = H_out·W_out`.
    pub fn output_len(&self) -> usize {
        self.output[0] * self.output[1]
    }

    /// Elements of one input image, `C_in·H·W`.
    pub fn image_len(&self) -> usize {
        self.channels_in * self.input[0] * self.input[1]
    }

    /// Elements of one output image, `C_out·L`.
    pub fn output_image_len(&self) -> usize {
        self.channels_out * self.output_len()
    }

    /// Kernel taps per channel, `k_h·k_w`.
    fn kernel_area(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }

    /// Input channels split into runs of about equal length with at most [`CHUNK_ROWS`]
    /// unrolled rows each (at least one channel), for `rows_per_channel` rows per channel.
    fn channel_chunks(&self, rows_per_channel: usize) -> impl Iterator<Item = Range<usize>> + use<> {
        let channels = self.channels_in;
        let chunks = (channels * rows_per_channel)
            .div_ceil(CHUNK_ROWS)
            .clamp(1, channels.max(1));
        let per_chunk = channels.div_ceil(chunks).max(1);
        (0..channels)
            .step_by(per_chunk)
            .map(move |start| start..(start + per_chunk).min(channels))
    }

    /// Images unrolled together into one column matrix.
    fn group(&self) -> usize {
        MIN_COLUMNS
            .div_ceil(self.output_len().max(1))
            .clamp(1, self.batch.max(1))
    }
}

/// Output positions `o < out` whose input coordinate `o·stride + offset − padding` lies in
/// `0..size`.
fn valid_range(out: usize, size: usize, stride: usize, offset: usize, padding: usize) -> Range<usize> {
    let end = match (size + padding).checked_sub(offset + 1) {
        Some(last) => (last / stride + 1).min(out),
        None => 0,
    };
    let start = padding.saturating_sub(offset).div_ceil(stride).min(end);
    start..end
}

/// Visits every (patch row `k`, output row `y`) of `channels` of one image's unrolled
/// patches, in order, with the input row it reads (`None` where the patch row lies in the
/// padding), the output columns that read inside the image, and the first input column
/// they read. `k` counts from the first visited row.
fn for_each_patch_row(
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
fn rows_per_phase(g: &Geometry) -> usize {
    g.output[0] + (g.kernel[0] - 1) / g.stride[0]
}

/// Offset of kernel row `i`'s patch rows in [`unroll_columns`]' matrix, in rows of
/// `W_out·images`: output row `y` reads padded row `y·s_h + i`, which is row `y + ⌊i / s_h⌋`
/// of phase `i mod s_h`.
fn kernel_row_offset(g: &Geometry, i: usize) -> usize {
    (i % g.stride[0]) * rows_per_phase(g) + i / g.stride[0]
}

/// The horizontal taps only of `channels` of `images` interleaved images (`input`:
/// `[C_in, H, W, images]`), over every zero-padded input row split by row phase:
/// `[channels, k_w, s_h, R, W_out, images]` with R = [`rows_per_phase`], replacing `cols`'
/// contents. Kernel row `i`'s patch rows are this matrix shifted by
/// [`kernel_row_offset`]`(i)` rows, so it is about `k_h / s_h` times smaller than the full
/// unrolled matrix and the products read it in place. Every element is appended in order, so
/// a reused buffer is never zeroed first.
fn unroll_columns<T: Real>(g: &Geometry, images: usize, input: &[T], channels: Range<usize>, cols: &mut Vec<T>) {
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
fn weights_by_kernel_row<T: Real>(g: &Geometry, weight: &[T]) -> Vec<T> {
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
fn weights_from_kernel_rows<T: Real>(g: &Geometry, by_row: &[T]) -> Vec<T> {
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
fn roll_add<T: Real>(g: &Geometry, images: usize, channels: Range<usize>, cols: &[T], output: &mut [T]) {
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
fn deinterleave<T: Real>(interleaved: &[T], images: usize, blocks: &mut [T]) {
    let len = blocks.len() / images;
    for (image, block) in blocks.chunks_exact_mut(len).enumerate() {
        for (value, slot) in block.iter_mut().zip(interleaved[image..].iter().step_by(images)) {
            *value = *slot;
        }
    }
}

/// `blocks` (`images` consecutive blocks) interleaved into `scratch`, or `blocks` itself for
/// one image.
fn interleaved<'a, T: Real>(blocks: &'a [T], images: usize, scratch: &'a mut [T]) -> &'a [T] {
    if images == 1 {
        return blocks;
    }
    interleave(blocks, images, scratch);
    scratch
}

/// A read-only matrix view: element `(r, c)` at `data[r·row_stride + c·col_stride]`.
#[derive(Clone, Copy)]
struct View<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<T> View<'_, T> {
    /// The transpose, over the same data.
    fn transposed(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    fn fits(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride < self.data.len()
    }
}

/// `dst = lhs·rhs`, or `dst += lhs·rhs` with `accumulate`; `dst` is row-major with rows of
/// `dst_row_len`.
fn matmul<T: Real>(dst: &mut [T], dst_row_len: usize, lhs: View<T>, rhs: View<T>, accumulate: bool) {
    let [m, n] = [lhs.rows, rhs.cols];
    assert!(
        m == 0 || n == 0 || (m - 1) * dst_row_len + n <= dst.len(),
        "matmul: output too small"
    );
    // SAFETY: `dst` holds every element of the `m × n` product at rows of `dst_row_len`
    // (asserted above), and is borrowed mutably, so it aliases neither input.
    unsafe { gemm_into(dst.as_mut_ptr(), dst_row_len, lhs, rhs, accumulate) }
}

/// `dst = lhs·rhs` into a reused buffer, `[m, n]` row-major, replacing its contents
/// without zeroing them first.
fn matmul_new<T: Real>(dst: &mut Vec<T>, lhs: View<T>, rhs: View<T>) {
    let len = lhs.rows * rhs.cols;
    dst.clear();
    dst.reserve(len);
    // SAFETY: the reserved capacity holds all `len` elements of the product, which gemm
    // writes without reading (`accumulate` is false); after it every element up to `len` is
    // initialised.
    unsafe {
        gemm_into(dst.as_mut_ptr(), rhs.cols, lhs, rhs, false);
        dst.set_len(len);
    }
}

/// The one call into gemm, with both views checked against their data.
///
/// # Safety
/// `dst` must be valid for writes (and reads, with `accumulate`) of every element
/// `r·dst_row_len + c` for `r < lhs.rows`, `c < rhs.cols`, and overlap neither view.
unsafe fn gemm_into<T: Real>(dst: *mut T, dst_row_len: usize, lhs: View<T>, rhs: View<T>, accumulate: bool) {
    let [m, k, n] = [lhs.rows, lhs.cols, rhs.cols];
    assert_eq!(rhs.rows, k, "matmul: inner sizes differ");
    assert!(lhs.fits() && rhs.fits(), "matmul: view exceeds its data");
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: the asserts keep every element gemm reads inside the views' slices; the
    // caller vouches for `dst`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_row_len as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            T::ONE,
            T::ONE,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

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
fn for_each_kernel_row<T: Real>(
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
/// [`weights_by_kernel_row`]): the output gradient times each kernel row's patch matrix,
/// transposed.
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

/// Per-group working memory: interleaved images, an unrolled matrix, and interleaved
/// outputs (or output gradients). The unrolled matrix, several times larger than the
/// others, starts empty, grows to the largest chunk it holds, and is always written whole,
/// never zeroed.
struct Scratch<T> {
    images: Vec<T>,
    cols: Vec<T>,
    outputs: Vec<T>,
}

impl<T: Real> Scratch<T> {
    fn new(g: &Geometry, group: usize) -> Self {
        Self {
            images: vec![T::ZERO; group * g.image_len()],
            cols: Vec::new(),
            outputs: vec![T::ZERO; group * g.output_image_len()],
        }
    }
}

/// Work split into [`PARTS`] fixed runs of `items`, each summed into its own buffer of
/// `len` zeros by `add` (in parallel), then the buffers added in order (in parallel over the
/// elements): the same result on any number of threads, so training stays reproducible.
fn summed_in_parts<I: Sync, T: Real>(items: &[I], len: usize, add: impl Fn(&mut [T], &[I]) + Sync) -> Vec<T> {
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
