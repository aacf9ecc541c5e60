//! 2-D convolution on host slices as image-to-column matrix products.
//!
//! Layouts are row-major: images `[N, C_in, H, W]`, weights `[C_out, K]` with
//! `K = C_in·k_h·k_w` in `(c_in, i, j)` order (burn's `[C_out, C_in, k_h, k_w]`), outputs and
//! their gradients `[N, C_out, L]` with `L = H_out·W_out`. A group of images is unrolled into
//! one column matrix `[K, G·L]` so that each product has at least [`MIN_COLUMNS`] columns; the
//! weight gradient is then one product per group, `[C_out, G·L]·[G·L, K]`, accumulated, not
//! a convolution over the batch axis.

use std::ops::{AddAssign, Mul, Range};

use rayon::prelude::*;

mod single_output;

/// Columns a matrix product should have at least; smaller outputs are grouped over images.
const MIN_COLUMNS: usize = 256;

/// Parallel runs a weight gradient is summed in, fixed so that the sum order is too.
const PARTS: usize = 8;

/// The element types the kernels run on.
pub trait Real: bytemuck::Pod + Send + Sync + AddAssign + Mul<Output = Self> {
    /// Additive identity.
    const ZERO: Self;
    /// Multiplicative identity.
    const ONE: Self;
}

impl Real for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
}

impl Real for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
}

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

    /// Whether the padding after the input equals the padding before it.
    pub fn is_symmetric(&self) -> bool {
        (0..2).all(|axis| {
            (self.input[axis] + 2 * self.padding[axis])
                .checked_sub(self.kernel[axis])
                .is_some_and(|span| span / self.stride[axis] + 1 == self.output[axis])
        })
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

/// Writes one image's patches into columns `column0..column0 + L` of `cols` (`[K, row_len]`).
fn unroll<T: Real>(g: &Geometry, image: &[T], cols: &mut [T], row_len: usize, column0: usize) {
    let [_, width] = g.input;
    let out_width = g.output[1];
    let stride = g.stride[1];
    for_each_patch_row(g, |k, y, input_row, columns, first_column| {
        let out = &mut cols[k * row_len + column0 + y * out_width..][..out_width];
        let Some(row) = input_row.filter(|_| !columns.is_empty()) else {
            out.fill(T::ZERO);
            return;
        };
        out[..columns.start].fill(T::ZERO);
        out[columns.end..].fill(T::ZERO);
        let source = &image[row * width + first_column..(row + 1) * width];
        let inside = &mut out[columns];
        if stride == 1 {
            inside.copy_from_slice(&source[..inside.len()]);
        } else {
            for (value, from) in inside.iter_mut().zip(source.iter().step_by(stride)) {
                *value = *from;
            }
        }
    });
}

/// The adjoint of [`unroll`]: adds columns `column0..column0 + L` of `cols` back onto the
/// pixels they were read from.
fn roll_add<T: Real>(g: &Geometry, cols: &[T], row_len: usize, column0: usize, image: &mut [T]) {
    let [_, width] = g.input;
    let out_width = g.output[1];
    let stride = g.stride[1];
    for_each_patch_row(g, |k, y, input_row, columns, first_column| {
        let Some(row) = input_row.filter(|_| !columns.is_empty()) else {
            return;
        };
        let inside = &cols[k * row_len + column0 + y * out_width..][columns];
        let target = &mut image[row * width + first_column..(row + 1) * width];
        for (pixel, value) in target.iter_mut().step_by(stride).zip(inside) {
            *pixel += *value;
        }
    });
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

/// `[images, C_out, L]` (consecutive in `batched`) to `[C_out, images·L]`.
fn gather_channels<T: Real>(g: &Geometry, batched: &[T], matrix: &mut [T]) {
    let [channels, len] = [g.channels_out, g.output_len()];
    let images = batched.len() / (channels * len);
    for (image, block) in batched.chunks(channels * len).enumerate() {
        for (channel, row) in block.chunks(len).enumerate() {
            matrix[channel * images * len + image * len..][..len].copy_from_slice(row);
        }
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
            || (vec![T::ZERO; k * group * len], vec![T::ZERO; channels * group * len]),
            |(cols, product), (y_group, x_group)| {
                let width = (x_group.len() / g.image_len()) * len;
                for (index, image) in x_group.chunks(g.image_len()).enumerate() {
                    unroll(g, image, cols, width, index * len);
                }
                let lhs = View {
                    data: weight,
                    rows: channels,
                    cols: k,
                    row_stride: k,
                    col_stride: 1,
                };
                let rhs = View {
                    data: cols,
                    rows: k,
                    cols: width,
                    row_stride: width,
                    col_stride: 1,
                };
                matmul(product, width, lhs, rhs, false);
                for (index, image) in y_group.chunks_mut(channels * len).enumerate() {
                    for (channel, row) in image.chunks_mut(len).enumerate() {
                        row.copy_from_slice(&product[channel * width + index * len..][..len]);
                        if let Some(bias) = bias {
                            row.iter_mut().for_each(|value| *value += bias[channel]);
                        }
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
            || (vec![T::ZERO; k * group * len], vec![T::ZERO; channels * group * len]),
            |(cols, gathered), (x_group, grad_group)| {
                let width = (grad_group.len() / (channels * len)) * len;
                gather_channels(g, grad_group, gathered);
                // Wᵀ: element (kk, c) of the [K, C_out] transpose is weight[c·K + kk].
                let lhs = View {
                    data: weight,
                    rows: k,
                    cols: channels,
                    row_stride: 1,
                    col_stride: k,
                };
                let rhs = View {
                    data: gathered,
                    rows: channels,
                    cols: width,
                    row_stride: width,
                    col_stride: 1,
                };
                matmul(cols, width, lhs, rhs, false);
                for (index, image) in x_group.chunks_mut(g.image_len()).enumerate() {
                    roll_add(g, cols, width, index * len, image);
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
        let mut cols = vec![T::ZERO; k * group * len];
        let mut gathered = vec![T::ZERO; channels * group * len];
        for (x_group, grad_group) in part {
            let width = (x_group.len() / g.image_len()) * len;
            for (index, image) in x_group.chunks(g.image_len()).enumerate() {
                unroll(g, image, &mut cols, width, index * len);
            }
            gather_channels(g, grad_group, &mut gathered);
            let lhs = View {
                data: &gathered,
                rows: channels,
                cols: width,
                row_stride: width,
                col_stride: 1,
            };
            // colsᵀ: element (l, kk) of the [G·L, K] transpose is cols[kk·width + l].
            let rhs = View {
                data: &cols,
                rows: width,
                cols: k,
                row_stride: 1,
                col_stride: width,
            };
            matmul(sum, k, lhs, rhs, true);
        }
    })
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
