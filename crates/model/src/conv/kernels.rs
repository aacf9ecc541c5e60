//! 2-D convolution on host slices as image-to-column matrix products.
//!
//! Layouts are row-major: images `[N, C_in, H, W]`, weights `[C_out, K]` with
//! `K = C_in·k_h·k_w` in `(c_in, i, j)` order (burn's `[C_out, C_in, k_h, k_w]`), outputs and
//! their gradients `[N, C_out, L]` with `L = H_out·W_out`.
//!
//! A group of `G` images is first interleaved, `[C, H, W, G]`, so that one pixel of all `G`
//! images is contiguous, then unrolled into one column matrix `[K, L·G]` with at least
//! [`MIN_COLUMNS`] columns: every patch row is copied in runs of `G` or more values, and
//! each product is large. The weight gradient is one product per group,
//! `[C_out, L·G]·[L·G, K]`, accumulated, not a convolution over the batch axis.

use std::ops::Range;

use rayon::prelude::*;

use crate::host::Real;

mod single_output;

/// Columns a matrix product should have at least; smaller outputs are grouped over images.
const MIN_COLUMNS: usize = 512;

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

/// Visits every (patch row `k`, output row `y`) of one image's unrolled patches with the
/// input row it reads (`None` where the patch row lies in the padding), the output
/// columns that read inside the image, and the first input column they read.
fn for_each_patch_row(g: &Geometry, mut visit: impl FnMut(usize, usize, Option<usize>, Range<usize>, usize)) {
    let [height, width] = g.input;
    let [out_height, out_width] = g.output;
    let [kernel_h, kernel_w] = g.kernel;
    let [stride_h, stride_w] = g.stride;
    let [pad_h, pad_w] = g.padding;
    for channel in 0..g.channels_in {
        for i in 0..kernel_h {
            let rows = valid_range(out_height, height, stride_h, i, pad_h);
            for j in 0..kernel_w {
                let columns = valid_range(out_width, width, stride_w, j, pad_w);
                let first_column = (columns.start * stride_w + j).saturating_sub(pad_w);
                let k = (channel * kernel_h + i) * kernel_w + j;
                for y in 0..out_height {
                    let input_row = rows.contains(&y).then(|| channel * height + y * stride_h + i - pad_h);
                    visit(k, y, input_row, columns.clone(), first_column);
                }
            }
        }
    }
}

/// Writes the patches of `images` interleaved images (`input`: `[C_in, H, W, images]`) into
/// `cols` (`[K, L, images]`).
fn unroll<T: Real>(g: &Geometry, images: usize, input: &[T], cols: &mut [T]) {
    let [width, out_width, stride] = [g.input[1], g.output[1], g.stride[1]];
    let row_len = g.output_len() * images;
    for_each_patch_row(g, |k, y, input_row, columns, first_column| {
        let out = &mut cols[k * row_len + y * out_width * images..][..out_width * images];
        let Some(row) = input_row.filter(|_| !columns.is_empty()) else {
            out.fill(T::ZERO);
            return;
        };
        out[..columns.start * images].fill(T::ZERO);
        out[columns.end * images..].fill(T::ZERO);
        let inside = &mut out[columns.start * images..columns.end * images];
        let source = &input[(row * width + first_column) * images..(row + 1) * width * images];
        if stride == 1 {
            inside.copy_from_slice(&source[..inside.len()]);
        } else if images == 1 {
            for (value, from) in inside.iter_mut().zip(source.iter().step_by(stride)) {
                *value = *from;
            }
        } else {
            for (pixel, from) in inside.chunks_exact_mut(images).zip(source.chunks(stride * images)) {
                pixel.copy_from_slice(&from[..images]);
            }
        }
    });
}

/// The adjoint of [`unroll`]: adds `cols` (`[K, L, images]`) back onto the pixels of
/// `output` (`[C_in, H, W, images]`) they were read from.
fn roll_add<T: Real>(g: &Geometry, images: usize, cols: &[T], output: &mut [T]) {
    let [width, out_width, stride] = [g.input[1], g.output[1], g.stride[1]];
    let row_len = g.output_len() * images;
    for_each_patch_row(g, |k, y, input_row, columns, first_column| {
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
    fn fits(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride < self.data.len()
    }
}

/// `dst = lhs·rhs`, or `dst += lhs·rhs` with `accumulate`; `dst` is row-major with rows of
/// `dst_row_len`.
fn matmul<T: Real>(dst: &mut [T], dst_row_len: usize, lhs: View<T>, rhs: View<T>, accumulate: bool) {
    let [m, k, n] = [lhs.rows, lhs.cols, rhs.cols];
    assert_eq!(rhs.rows, k, "matmul: inner sizes differ");
    assert!(lhs.fits() && rhs.fits(), "matmul: view exceeds its data");
    assert!(
        m == 0 || n == 0 || (m - 1) * dst_row_len + n <= dst.len(),
        "matmul: output too small"
    );
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: the asserts above keep every element gemm reads or writes inside the slices,
    // and `dst` is borrowed mutably, so it aliases neither input.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
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
    let [k, len, channels] = [g.patch_len(), g.output_len(), g.channels_out];
    let group = g.group();
    let mut y = vec![T::ZERO; g.batch * channels * len];
    y.par_chunks_mut(group * channels * len)
        .zip(x.par_chunks(group * g.image_len()))
        .for_each_init(
            || Scratch::new(g, group),
            |scratch, (y_group, x_group)| {
                let images = x_group.len() / g.image_len();
                let width = images * len;
                let input = interleaved(x_group, images, &mut scratch.images);
                unroll(g, images, input, &mut scratch.cols);
                let lhs = View {
                    data: weight,
                    rows: channels,
                    cols: k,
                    row_stride: k,
                    col_stride: 1,
                };
                let rhs = View {
                    data: &scratch.cols,
                    rows: k,
                    cols: width,
                    row_stride: width,
                    col_stride: 1,
                };
                matmul(&mut scratch.outputs, width, lhs, rhs, false);
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
    let mut x_grad = vec![T::ZERO; g.batch * g.image_len()];
    x_grad
        .par_chunks_mut(group * g.image_len())
        .zip(grad.par_chunks(group * channels * len))
        .for_each_init(
            || Scratch::new(g, group),
            |scratch, (x_group, grad_group)| {
                let images = x_group.len() / g.image_len();
                let width = images * len;
                let grad = interleaved(grad_group, images, &mut scratch.outputs);
                // Wᵀ: element (kk, c) of the [K, C_out] transpose is weight[c·K + kk].
                let lhs = View {
                    data: weight,
                    rows: k,
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
                matmul(&mut scratch.cols, width, lhs, rhs, false);
                if images == 1 {
                    roll_add(g, 1, &scratch.cols, x_group);
                } else {
                    let summed = &mut scratch.images[..x_group.len()];
                    summed.fill(T::ZERO);
                    roll_add(g, images, &scratch.cols, summed);
                    deinterleave(summed, images, x_group);
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
    summed_in_parts(&pairs, channels * k, |sum, part| {
        let mut scratch = Scratch::new(g, group);
        for (x_group, grad_group) in part {
            let images = x_group.len() / g.image_len();
            let width = images * len;
            let input = interleaved(x_group, images, &mut scratch.images);
            unroll(g, images, input, &mut scratch.cols);
            let grad = interleaved(grad_group, images, &mut scratch.outputs);
            let lhs = View {
                data: grad,
                rows: channels,
                cols: width,
                row_stride: width,
                col_stride: 1,
            };
            // colsᵀ: element (l, kk) of the [L·G, K] transpose is cols[kk·width + l].
            let rhs = View {
                data: &scratch.cols,
                rows: width,
                cols: k,
                row_stride: 1,
                col_stride: width,
            };
            matmul(sum, k, lhs, rhs, true);
        }
    })
}

/// Per-group working memory: interleaved images, the column matrix, and interleaved
/// outputs (or output gradients).
struct Scratch<T> {
    images: Vec<T>,
    cols: Vec<T>,
    outputs: Vec<T>,
}

impl<T: Real> Scratch<T> {
    fn new(g: &Geometry, group: usize) -> Self {
        Self {
            images: vec![T::ZERO; group * g.image_len()],
            cols: vec![T::ZERO; g.patch_len() * group * g.output_len()],
            outputs: vec![T::ZERO; group * g.output_image_len()],
        }
    }
}

/// Work split into [`PARTS`] fixed runs of `items`, each summed into its own buffer of
/// `len` zeros by `add` (in parallel), then the buffers added in order: the same result on
/// any number of threads, so training stays reproducible.
fn summed_in_parts<I: Sync, T: Real>(items: &[I], len: usize, add: impl Fn(&mut [T], &[I]) + Sync) -> Vec<T> {
    let per_part = items.len().div_ceil(PARTS).max(1);
    let partials: Vec<Vec<T>> = items
        .par_chunks(per_part)
        .map(|part| {
            let mut sum = vec![T::ZERO; len];
            add(&mut sum, part);
            sum
        })
        .collect();
    let mut total = vec![T::ZERO; len];
    for partial in partials {
        total.iter_mut().zip(partial).for_each(|(t, p)| *t += p);
    }
    total
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
