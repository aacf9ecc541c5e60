//! ×2 bilinear upsampling on host slices: two taps per output pixel and axis, applied along
//! the width, then along the height as whole-row blends; the backward pass is the adjoint,
//! the same taps scattered back. The matrix products of the generic path spend `n`
//! multiply-adds per output value on an `n`-pixel axis where two suffice.
//!
//! Registered with burn's autodiff as a custom operation on `Autodiff<Flex>`.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::{DType, Tensor, TensorData, backend::Backend};
use rayon::prelude::*;

use super::bilinear_taps;
use crate::dispatch::{primitive_as, record_host_call, tensor_from};
use crate::host::{Real, host_values, zeros};

type Ad = Autodiff<Flex>;

/// Planes handled by one parallel task.
const PLANES_PER_TASK: usize = 16;

/// One output pixel's taps on one axis.
#[derive(Debug, Clone, Copy)]
struct Tap<T> {
    lower: usize,
    upper: usize,
    weight_lower: T,
    weight_upper: T,
}

/// The taps of `output` pixels sampling `input` pixels.
fn taps<T: Real>(input: usize, output: usize) -> Vec<Tap<T>> {
    bilinear_taps(input, output)
        .into_iter()
        .map(|(lower, upper, weight_upper)| Tap {
            lower,
            upper,
            weight_lower: T::from_f64(1.0 - weight_upper),
            weight_upper: T::from_f64(weight_upper),
        })
        .collect()
}

/// Sizes of the input, `[batch, channels]` planes of `height × width`; outputs are twice
/// as high and wide.
#[derive(Debug, Clone, Copy)]
struct Planes {
    batch: usize,
    channels: usize,
    height: usize,
    width: usize,
}

impl Planes {
    fn input_len(self) -> usize {
        self.height * self.width
    }

    fn output_len(self) -> usize {
        4 * self.input_len()
    }
}

/// Upsamples every `[h, w]` plane of `input` to `[2h, 2w]`.
///
/// # Shapes
/// - `input`: `[planes, h, w]` (flattened); output: `[planes, 2h, 2w]`
fn forward<T: Real>(sizes: Planes, input: &[T]) -> Vec<T> {
    let Planes { height, width, .. } = sizes;
    let [row_taps, column_taps] = [taps::<T>(height, 2 * height), taps::<T>(width, 2 * width)];
    let mut output = zeros(input.len() * 4);
    output
        .par_chunks_mut(sizes.output_len() * PLANES_PER_TASK)
        .zip(input.par_chunks(sizes.input_len() * PLANES_PER_TASK))
        .for_each_init(
            || vec![T::ZERO; height * 2 * width],
            |wide, (outputs, inputs)| {
                for (out, plane) in outputs
                    .chunks_exact_mut(sizes.output_len())
                    .zip(inputs.chunks_exact(sizes.input_len()))
                {
                    // Along the width: [h, w] -> [h, 2w].
                    for (wide_row, row) in wide.chunks_exact_mut(2 * width).zip(plane.chunks_exact(width)) {
                        for (value, tap) in wide_row.iter_mut().zip(&column_taps) {
                            *value = tap.weight_lower * row[tap.lower] + tap.weight_upper * row[tap.upper];
                        }
                    }
                    // Along the height: each output row blends two wide rows.
                    for (out_row, tap) in out.chunks_exact_mut(2 * width).zip(&row_taps) {
                        let lower = &wide[tap.lower * 2 * width..][..2 * width];
                        let upper = &wide[tap.upper * 2 * width..][..2 * width];
                        for ((value, a), b) in out_row.iter_mut().zip(lower).zip(upper) {
                            *value = tap.weight_lower * *a + tap.weight_upper * *b;
                        }
                    }
                }
            },
        );
    output
}

/// The adjoint of [`forward`]: the input gradient from the output gradient.
///
/// # Shapes
/// - `grad`: `[planes, 2h, 2w]`; output: `[planes, h, w]`
fn backward<T: Real>(sizes: Planes, grad: &[T]) -> Vec<T> {
    let Planes { height, width, .. } = sizes;
    let [row_taps, column_taps] = [taps::<T>(height, 2 * height), taps::<T>(width, 2 * width)];
    let mut input_grad = zeros(grad.len() / 4);
    input_grad
        .par_chunks_mut(sizes.input_len() * PLANES_PER_TASK)
        .zip(grad.par_chunks(sizes.output_len() * PLANES_PER_TASK))
        .for_each_init(
            || vec![T::ZERO; height * 2 * width],
            |wide, (input_grads, grads)| {
                for (plane_grad, out_grad) in input_grads
                    .chunks_exact_mut(sizes.input_len())
                    .zip(grads.chunks_exact(sizes.output_len()))
                {
                    // Adjoint of the height pass: [2h, 2w] -> [h, 2w].
                    wide.fill(T::ZERO);
                    for (out_row, tap) in out_grad.chunks_exact(2 * width).zip(&row_taps) {
                        for (pair, value) in [(tap.lower, tap.weight_lower), (tap.upper, tap.weight_upper)] {
                            let target = &mut wide[pair * 2 * width..][..2 * width];
                            target.iter_mut().zip(out_row).for_each(|(t, g)| *t += value * *g);
                        }
                    }
                    // Adjoint of the width pass: [h, 2w] -> [h, w].
                    for (row_grad, wide_row) in plane_grad.chunks_exact_mut(width).zip(wide.chunks_exact(2 * width)) {
                        for (g, tap) in wide_row.iter().zip(&column_taps) {
                            row_grad[tap.lower] += tap.weight_lower * *g;
                            row_grad[tap.upper] += tap.weight_upper * *g;
                        }
                    }
                }
            },
        );
    input_grad
}

/// Which pass to run.
#[derive(Debug, Clone, Copy)]
enum Pass {
    Forward,
    Backward,
}

/// Runs `pass` on `tensor` (f32 or f64, checked by the callers) for input planes of `sizes`.
fn run(pass: Pass, sizes: Planes, tensor: &FlexTensor) -> FlexTensor {
    fn typed<T: Real>(pass: Pass, sizes: Planes, tensor: &FlexTensor) -> FlexTensor {
        let contiguous = tensor.to_contiguous();
        let values = host_values::<T>(&contiguous);
        let Planes {
            batch,
            channels,
            height,
            width,
        } = sizes;
        let (result, [height, width]) = match pass {
            Pass::Forward => (forward(sizes, values), [2 * height, 2 * width]),
            Pass::Backward => (backward(sizes, values), [height, width]),
        };
        FlexTensor::from_data(TensorData::new(result, [batch, channels, height, width]))
    }
    record_host_call();
    match tensor.dtype() {
        DType::F64 => typed::<f64>(pass, sizes, tensor),
        _ => typed::<f32>(pass, sizes, tensor),
    }
}

/// The planes of a `[batch, channels, h, w]` tensor.
fn planes<B: Backend>(input: &Tensor<B, 4>) -> Planes {
    let [batch, channels, height, width] = input.dims();
    Planes {
        batch,
        channels,
        height,
        width,
    }
}

/// ×2 upsampling on flex without autodiff.
pub(super) fn upsample_inner<B: Backend>(input: &Tensor<B, 4>) -> Option<Tensor<B, 4>> {
    let primitive = primitive_as::<B, Flex, 4>(input)?;
    tensor_from::<Flex, B, 4>(run(Pass::Forward, planes(input), &primitive))
}

/// Backward of the upsampling: the adjoint stencil.
#[derive(Debug)]
struct UpsampleBackward;

impl Backward<Flex, 1> for UpsampleBackward {
    /// Input plane sizes.
    type State = Planes;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        if let Some(node) = node {
            grads.register::<Flex>(node.id, run(Pass::Backward, ops.state, &grad));
        }
    }
}

/// ×2 upsampling on `Autodiff<Flex>`, recorded with [`UpsampleBackward`].
pub(super) fn upsample_ad<B: Backend>(input: &Tensor<B, 4>) -> Option<Tensor<B, 4>> {
    let sizes = planes(input);
    let input = primitive_as::<B, Ad, 4>(input)?;
    let output = run(Pass::Forward, sizes, &input.primitive);
    let result = match UpsampleBackward
        .prepare::<NoCheckpointing>([input.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(sizes, output),
        OpsKind::UnTracked(prep) => prep.finish(output),
    };
    tensor_from::<Ad, B, 4>(result)
}

#[cfg(test)]
mod tests {
    use super::super::{upsample_bilinear_2x, upsample_by_shifts};
    use super::PLANES_PER_TASK;
    use crate::dispatch::host_calls;
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::backend::Backend;
    use burn::tensor::module::interpolate;
    use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
    use burn::tensor::{DType, Distribution, Tensor};

    type Ad = Autodiff<Flex>;

    fn assert_close<B: Backend>(actual: Tensor<B, 4>, expected: Tensor<B, 4>, what: &str) {
        assert_within(actual, expected, 1e-12, what);
    }

    /// Every element within `tolerance` (relative, and absolute near 0) of `expected`.
    fn assert_within<B: Backend>(actual: Tensor<B, 4>, expected: Tensor<B, 4>, tolerance: f64, what: &str) {
        let [actual, expected] = [actual.into_data(), expected.into_data()];
        assert_eq!(actual.shape, expected.shape, "{what}: shape");
        for (index, (a, e)) in actual.iter::<f64>().zip(expected.iter::<f64>()).enumerate() {
            assert!(
                (a - e).abs() <= tolerance * (1.0 + e.abs()),
                "{what}[{index}]: {a} vs {e}"
            );
        }
    }

    #[test]
    fn stencil_matches_burns_half_pixel_bilinear_interpolation() {
        // burn's own bilinear resize with half-pixel centres (`align_corners = false`), a
        // reference that shares nothing with this crate's taps, over 3·13 planes: two whole
        // parallel tasks and part of a third.
        let device = Default::default();
        let shape = [3, 13, 6, 5];
        assert!(shape[0] * shape[1] > 2 * PLANES_PER_TASK);
        let options = InterpolateOptions::new(InterpolateMode::Bilinear).with_align_corners(false);
        for (dtype, tolerance) in [(DType::F32, 1e-6), (DType::F64, 1e-12)] {
            let input = Tensor::<Flex, 4>::random(shape, Distribution::Normal(0.0, 1.0), &device).cast(dtype);
            let calls = host_calls();
            let ours = upsample_bilinear_2x(input.clone());
            assert_eq!(host_calls() - calls, 1, "{dtype:?}: host kernel runs");
            assert_eq!(ours.dtype(), dtype);
            let theirs = interpolate(input, [12, 10], options.clone());
            assert_within(ours, theirs, tolerance, &format!("{dtype:?} output"));
        }
    }

    #[test]
    fn host_stencil_matches_the_generic_one_and_its_gradient_in_f64() {
        let device = Default::default();
        // Odd, even and single-pixel sides; more planes than one parallel task takes.
        for shape in [[2, 3, 5, 4], [1, 1, 1, 1], [3, 7, 2, 6], [2, 9, 4, 1]] {
            let input = Tensor::<Ad, 4>::random(shape, Distribution::Normal(0.0, 1.0), &device).cast(DType::F64);
            let [ours_leaf, theirs_leaf] = [(); 2].map(|_| input.clone().require_grad());
            let calls = host_calls();
            let ours = upsample_bilinear_2x(ours_leaf.clone());
            let theirs = upsample_by_shifts(theirs_leaf.clone());
            let [_, _, height, width] = shape;
            assert_eq!(ours.dims(), [shape[0], shape[1], 2 * height, 2 * width]);
            let upstream =
                Tensor::<Ad, 4>::random(theirs.dims(), Distribution::Normal(0.0, 1.0), &device).cast(DType::F64);
            let ours_grads = ours.clone().mul(upstream.clone()).sum().backward();
            let theirs_grads = theirs.clone().mul(upstream).sum().backward();
            // Ours forward and backward on the host, the generic stencil not.
            assert_eq!(host_calls() - calls, 2, "{shape:?}: host kernel runs");
            assert_close(ours, theirs, &format!("{shape:?} output"));
            assert_close(
                ours_leaf.grad(&ours_grads).expect("tracked"),
                theirs_leaf.grad(&theirs_grads).expect("tracked"),
                &format!("{shape:?} input gradient"),
            );
        }
    }
}
