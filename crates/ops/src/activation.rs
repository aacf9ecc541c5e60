//! LeakyReLU and ReLU, with burn's numbers, as one parallel pass each way on the CPU
//! backend.
//!
//! On flex, burn's LeakyReLU is three single-threaded passes (compare, scale, select) and
//! its backward as many again; over a critic step's activations that is several times the
//! work of one pass per direction. Here it is a host kernel with its own backward on
//! `Autodiff<Flex>` (and a plain pass on `Flex`), which keeps burn's conventions exactly:
//! LeakyReLU passes `x ≥ 0` unchanged (slope 1 at 0), ReLU gives `0` for `x ≤ 0` (slope 0
//! at 0). Other backends use burn's ops.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::{DType, Tensor, TensorData, TensorMetadata, activation, backend::Backend};
use rayon::prelude::*;

use crate::dispatch::{host_kernels_apply, primitive_as, record_host_call, tensor_from};
use crate::host::{Real, host_values};

type Ad = Autodiff<Flex>;

/// Elements per parallel task.
const CHUNK: usize = 1 << 14;

/// `x` where `x > 0`, `slope·x` elsewhere: burn's `leaky_relu`, or `relu` for a slope of 0.
///
/// # Shapes
/// - `x`: any; output: the same
pub fn leaky_relu<B: Backend, const D: usize>(x: Tensor<B, D>, slope: f64) -> Tensor<B, D> {
    if host_kernels_apply::<B>(x.dtype())
        && let Some(y) = leaky_relu_ad(&x, slope).or_else(|| leaky_relu_inner(&x, slope))
    {
        return y;
    }
    if slope == 0.0 {
        activation::relu(x)
    } else {
        activation::leaky_relu(x, slope)
    }
}

/// burn's `relu`: [`leaky_relu`] with a slope of 0.
pub fn relu<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    leaky_relu(x, 0.0)
}

/// `values` (shaped like `x`) each multiplied by the activation's slope at `x`: the
/// activation itself for `values = x`, its backward for the upstream gradient.
///
/// Selects rather than branches, as the signs of activations are a coin toss; ReLU selects
/// `0` (not `value · 0`, which is `−0` or NaN for some values), as burn's masked fill does.
fn times_slope_as<T: Real + PartialOrd>(x: &FlexTensor, values: &FlexTensor, slope: f64) -> FlexTensor {
    let [x, values] = [x.to_contiguous(), values.to_contiguous()];
    let [x_values, values] = [host_values::<T>(&x), host_values::<T>(&values)];
    assert_eq!(
        x_values.len(),
        values.len(),
        "activation: values shaped unlike the input"
    );
    let relu = slope == 0.0;
    let slope = T::from_f64(slope);
    let mut out: Vec<T> = Vec::with_capacity(x_values.len());
    out.spare_capacity_mut()
        .par_chunks_mut(CHUNK)
        .zip(x_values.par_chunks(CHUNK).zip(values.par_chunks(CHUNK)))
        .for_each(|(out, (x, values))| {
            let pairs = out.iter_mut().zip(x.iter().zip(values));
            // Two plain loops, each a compare and a select per element that the compiler
            // turns into vector code; burn's sides: ReLU is flat at 0, LeakyReLU is the
            // identity there (and at NaN).
            if relu {
                for (out, (&x, &value)) in pairs {
                    out.write(if x > T::ZERO { value } else { T::ZERO });
                }
            } else {
                for (out, (&x, &value)) in pairs {
                    out.write(if x < T::ZERO { value * slope } else { value });
                }
            }
        });
    // SAFETY: the chunks cover the spare capacity's first `x_values.len()` elements, and the
    // loop above wrote every one of them (`x` and `values` have that length too).
    unsafe { out.set_len(x_values.len()) };
    FlexTensor::from_data(TensorData::new(out, x.shape().to_vec()))
}

fn times_slope(x: &FlexTensor, values: &FlexTensor, slope: f64) -> FlexTensor {
    record_host_call();
    match x.dtype() {
        DType::F64 => times_slope_as::<f64>(x, values, slope),
        _ => times_slope_as::<f32>(x, values, slope),
    }
}

/// Backward of the activation: the upstream gradient on the identity side, times the
/// slope elsewhere.
#[derive(Debug)]
struct LeakyReluBackward;

impl Backward<Flex, 1> for LeakyReluBackward {
    /// The input and the slope.
    type State = (FlexTensor, f64);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, slope) = &ops.state;
        if let Some(node) = node {
            grads.register::<Flex>(node.id, times_slope(x, &grad, *slope));
        }
    }
}

/// The activation on `Autodiff<Flex>`, recorded with [`LeakyReluBackward`].
fn leaky_relu_ad<B: Backend, const D: usize>(x: &Tensor<B, D>, slope: f64) -> Option<Tensor<B, D>> {
    let x = primitive_as::<B, Ad, D>(x)?;
    let output = times_slope(&x.primitive, &x.primitive, slope);
    let result = match LeakyReluBackward
        .prepare::<NoCheckpointing>([x.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish((x.primitive, slope), output),
        OpsKind::UnTracked(prep) => prep.finish(output),
    };
    tensor_from::<Ad, B, D>(result)
}

/// The activation on `Flex` without autodiff.
fn leaky_relu_inner<B: Backend, const D: usize>(x: &Tensor<B, D>, slope: f64) -> Option<Tensor<B, D>> {
    let x = primitive_as::<B, Flex, D>(x)?;
    tensor_from::<Flex, B, D>(times_slope(&x, &x, slope))
}

#[cfg(test)]
mod tests {
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::{DType, Distribution, Tensor, TensorData, activation, backend::Backend};

    use super::{CHUNK, leaky_relu};
    use crate::dispatch::host_calls;

    type Ad = Autodiff<Flex>;

    /// Values on both sides of 0, 0 itself and −0, in `dtype`.
    fn input<B: Backend>(dtype: DType) -> Tensor<B, 3> {
        let values = vec![-3.5, -0.25, -0.0, 0.0, 1e-9, 0.75, 2.0, -1e-12, 4.0, -7.0, 0.5, -0.5];
        Tensor::<B, 3>::from_data(TensorData::new(values, [2, 3, 2]), &Default::default()).cast(dtype)
    }

    fn values<B: Backend>(tensor: Tensor<B, 3>) -> Vec<f64> {
        tensor.into_data().iter::<f64>().collect()
    }

    /// Forward values and input gradients (for an upstream gradient that differs per
    /// element) of the kernel and of burn's op on `x`, on `Autodiff<Flex>`; checks that the
    /// kernel ran on the host forward and backward, and burn's op not at all.
    fn kernel_and_burn(x: Tensor<Ad, 3>, slope: f64) -> [(Vec<f64>, Vec<f64>); 2] {
        let dtype = x.dtype();
        let weights = x.clone().cast(DType::F64).ones_like().cumsum(2).cast(dtype); // 1, 2, … per row
        let run = |ours: bool| {
            let x = x.clone().detach().require_grad();
            let calls = host_calls();
            let y = match (ours, slope == 0.0) {
                (true, _) => leaky_relu(x.clone(), slope),
                (false, true) => activation::relu(x.clone()),
                (false, false) => activation::leaky_relu(x.clone(), slope),
            };
            assert_eq!(y.dtype(), dtype);
            let grads = y.clone().mul(weights.clone()).sum().backward();
            assert_eq!(host_calls() - calls, if ours { 2 } else { 0 }, "host kernel runs");
            (values(y), values(x.grad(&grads).expect("x is tracked")))
        };
        [run(true), run(false)]
    }

    #[test]
    fn leaky_relu_matches_burn_values_and_gradient() {
        for dtype in [DType::F32, DType::F64] {
            let [ours, burn] = kernel_and_burn(input(dtype), 0.2);
            assert_eq!(ours, burn, "{dtype:?}");
            // Not vacuous: the slope shows on the negative side, the identity elsewhere
            // (at 0 and −0 too).
            let rounded = |v: f64| if dtype == DType::F32 { f64::from(v as f32) } else { v };
            assert_eq!(ours.0[0], rounded(-3.5 * 0.2), "{dtype:?}");
            assert_eq!(ours.1[..6], [0.2, 0.4, 1.0, 2.0, 1.0, 2.0].map(rounded), "{dtype:?}");
        }
    }

    #[test]
    fn relu_matches_burn_values_and_gradient() {
        for dtype in [DType::F32, DType::F64] {
            let [ours, burn] = kernel_and_burn(input(dtype), 0.0);
            assert_eq!(ours, burn, "{dtype:?}");
            assert!(
                ours.0[..4].iter().all(|v| *v == 0.0 && v.is_sign_positive()),
                "{dtype:?}"
            );
            assert_eq!(ours.1[..6], [0.0, 0.0, 0.0, 0.0, 1.0, 2.0], "{dtype:?}");
        }
    }

    #[test]
    fn matches_burn_over_several_parallel_chunks() {
        // Three whole chunks and part of a fourth.
        let shape = [3, 25, 657];
        assert_eq!(shape.iter().product::<usize>(), 3 * CHUNK + 123);
        for dtype in [DType::F32, DType::F64] {
            let x = Tensor::<Ad, 3>::random(shape, Distribution::Normal(0.0, 1.0), &Default::default()).cast(dtype);
            for slope in [0.0, 0.2] {
                let [ours, burn] = kernel_and_burn(x.clone(), slope);
                assert_eq!(ours, burn, "{dtype:?}, slope {slope}");
                // Not vacuous: both sides of 0 in every chunk.
                for chunk in ours.0.chunks(CHUNK) {
                    assert!(chunk.iter().any(|v| *v > 0.0) && chunk.iter().any(|v| *v <= 0.0));
                }
            }
        }
    }

    #[test]
    fn plain_flex_matches_burn() {
        let x = input::<Flex>(DType::F32);
        for slope in [0.0, 0.2] {
            let burn = match slope {
                0.0 => activation::relu(x.clone()),
                _ => activation::leaky_relu(x.clone(), slope),
            };
            let calls = host_calls();
            let ours = leaky_relu(x.clone(), slope);
            assert_eq!(host_calls() - calls, 1, "host kernel runs");
            assert_eq!(values(ours), values(burn));
        }
    }
}
