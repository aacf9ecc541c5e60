//! Training-mode BatchNorm on host slices, with its own backward pass: forward, two passes
//! for the statistics and one to normalize; backward, one pass for the sums and one for the
//! input gradient. Per-channel sums are in f64; with a [`MomentReducer`] (synchronised
//! BatchNorm) they are summed across data-parallel replicas before they are used.
//!
//! Registered with burn's autodiff as a custom operation on `Autodiff<Flex>` with the input,
//! `γ` and `β` as parents.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::{DType, Tensor, TensorData, backend::Backend};
use rayon::prelude::*;

use super::sync::MomentReducer;
use crate::dispatch::{primitive_as, record_host_call, tensor_from};
use crate::host::{Real, host_values, same_dtype, zeros};

type Ad = Autodiff<Flex>;

/// Sizes of the input viewed as `[batch, channels, spatial]`.
#[derive(Debug, Clone, Copy)]
struct Rows {
    batch: usize,
    channels: usize,
    spatial: usize,
}

impl Rows {
    /// Values per channel, `M = N·S`.
    fn count(self) -> f64 {
        (self.batch * self.spatial) as f64
    }

    /// The `N` rows of `channel` in `values` (`[N, C, S]`).
    fn channel_rows<T>(self, values: &[T], channel: usize) -> impl Iterator<Item = &[T]> {
        (0..self.batch).map(move |image| &values[(image * self.channels + channel) * self.spatial..][..self.spatial])
    }
}

/// `Σ term(c, x)` over each channel `c`'s values, in f64, row by row.
fn channel_sums<T: Real + Into<f64>>(rows: Rows, x: &[T], term: impl Fn(usize, f64) -> f64 + Sync) -> Vec<f64> {
    (0..rows.channels)
        .into_par_iter()
        .map(|channel| {
            rows.channel_rows(x, channel)
                .map(|row| row.iter().map(|&v| term(channel, v.into())).sum::<f64>())
                .sum()
        })
        .collect()
}

/// Per-channel batch mean and biased variance, in f64, over this replica's rows or, with a
/// `reducer`, over every replica's; and the number of values per channel they cover.
///
/// # Shapes
/// - `x`: `[N, C, S]`; outputs: `[C]` each
fn statistics<T: Real + Into<f64>>(rows: Rows, x: &[T], reducer: Option<&MomentReducer>) -> (Vec<f64>, Vec<f64>, f64) {
    let mut sums = channel_sums(rows, x, |_, v| v);
    let count = match reducer {
        None => rows.count(),
        Some(reducer) => {
            sums.push(rows.count());
            reducer.reduce(&mut sums);
            sums.pop().unwrap_or(f64::NAN)
        }
    };
    let mean: Vec<f64> = sums.iter().map(|sum| sum / count).collect();
    let mut squares = channel_sums(rows, x, |channel, v| (v - mean[channel]).powi(2));
    if let Some(reducer) = reducer {
        reducer.reduce(&mut squares);
    }
    let variance = squares.iter().map(|squares| squares / count).collect();
    (mean, variance, count)
}

/// `y = x·scale[c] + shift[c]` row by row.
fn scale_and_shift<T: Real>(rows: Rows, x: &[T], scale: &[T], shift: &[T]) -> Vec<T> {
    let mut y = zeros(x.len());
    y.par_chunks_mut(rows.spatial)
        .zip(x.par_chunks(rows.spatial))
        .enumerate()
        .for_each(|(row, (out, input))| {
            let channel = row % rows.channels;
            let [a, b] = [scale[channel], shift[channel]];
            out.iter_mut().zip(input).for_each(|(y, x)| *y = *x * a + b);
        });
    y
}

/// What the backward pass needs: the input, per-channel mean and `1/√(σ² + ε)`, `γ`, the
/// number of values per channel the statistics cover, and the reducer they were summed with.
#[derive(Debug, Clone)]
struct Saved {
    rows: Rows,
    input: FlexTensor,
    mean: Vec<f64>,
    inv_std: Vec<f64>,
    gamma: Vec<f64>,
    count: f64,
    reducer: Option<MomentReducer>,
}

/// Input, `γ` and `β` gradients from the output gradient.
fn gradients<T: Real + Into<f64>>(saved: &Saved, x: &[T], grad: &[T]) -> [Vec<T>; 3] {
    let rows = saved.rows;
    // Σ dy and Σ dy·(x − μ) per channel.
    let (sum_grad, sum_grad_centered): (Vec<f64>, Vec<f64>) = (0..rows.channels)
        .into_par_iter()
        .map(|channel| {
            let mean = saved.mean[channel];
            rows.channel_rows(grad, channel)
                .zip(rows.channel_rows(x, channel))
                .fold((0.0, 0.0), |(sum, centered), (dy, x)| {
                    let row_sum: f64 = dy.iter().map(|&g| g.into()).sum();
                    let row_centered: f64 = dy.iter().zip(x).map(|(&g, &v)| g.into() * (v.into() - mean)).sum();
                    (sum + row_sum, centered + row_centered)
                })
        })
        .unzip();
    // γ and β take this replica's sums; the input gradient takes every replica's, since
    // the statistics it differentiates were taken over all of them.
    let gamma_grad = (0..rows.channels)
        .map(|c| T::from_f64(sum_grad_centered[c] * saved.inv_std[c]))
        .collect();
    let beta_grad = sum_grad.iter().map(|&sum| T::from_f64(sum)).collect();
    let (sum_grad, sum_grad_centered) = match &saved.reducer {
        None => (sum_grad, sum_grad_centered),
        Some(reducer) => {
            let mut both = [sum_grad, sum_grad_centered].concat();
            reducer.reduce(&mut both);
            let centered = both.split_off(rows.channels);
            (both, centered)
        }
    };
    let count = saved.count;
    // dx = γ·s/M · (M·dy − Σdy − x̂·Σ dy·x̂) with x̂ = (x − μ)·s, s = 1/√(σ² + ε),
    // written per channel as dx = a·dy + b·x + c.
    let coefficients: Vec<[T; 3]> = (0..rows.channels)
        .map(|c| {
            let s = saved.inv_std[c];
            let a = saved.gamma[c] * s;
            let b = -a * s * s * sum_grad_centered[c] / count;
            let offset = -a * sum_grad[c] / count - b * saved.mean[c];
            [a, b, offset].map(T::from_f64)
        })
        .collect();
    let mut input_grad = zeros(x.len());
    input_grad
        .par_chunks_mut(rows.spatial)
        .zip(grad.par_chunks(rows.spatial).zip(x.par_chunks(rows.spatial)))
        .enumerate()
        .for_each(|(row, (out, (dy, x)))| {
            let [a, b, c] = coefficients[row % rows.channels];
            out.iter_mut()
                .zip(dy.iter().zip(x))
                .for_each(|(out, (dy, x))| *out = *dy * a + *x * b + c);
        });
    [input_grad, gamma_grad, beta_grad]
}

/// Forward result: the output and the batch statistics.
struct Normalized {
    output: FlexTensor,
    mean: Vec<f64>,
    variance: Vec<f64>,
    saved: Saved,
}

fn forward_typed<T: Real + Into<f64>>(
    rows: Rows,
    input: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    epsilon: f64,
    reducer: Option<MomentReducer>,
) -> Normalized {
    let input = input.to_contiguous();
    let x = host_values::<T>(&input);
    let to_f64 = |tensor: &FlexTensor| -> Vec<f64> {
        let contiguous = tensor.to_contiguous();
        host_values::<T>(&contiguous).iter().map(|&v| v.into()).collect()
    };
    let [gamma, beta] = [to_f64(gamma), to_f64(beta)];
    let (mean, variance, count) = statistics(rows, x, reducer.as_ref());
    let inv_std: Vec<f64> = variance.iter().map(|v| 1.0 / (v + epsilon).sqrt()).collect();
    let scale: Vec<T> = (0..rows.channels).map(|c| T::from_f64(gamma[c] * inv_std[c])).collect();
    let shift: Vec<T> = (0..rows.channels)
        .map(|c| T::from_f64(beta[c] - mean[c] * gamma[c] * inv_std[c]))
        .collect();
    let output = scale_and_shift(rows, x, &scale, &shift);
    let shape = [rows.batch, rows.channels, rows.spatial];
    Normalized {
        output: FlexTensor::from_data(TensorData::new(output, shape)),
        mean: mean.clone(),
        variance,
        saved: Saved {
            rows,
            input,
            mean,
            inv_std,
            gamma,
            count,
            reducer,
        },
    }
}

fn forward(
    rows: Rows,
    input: &FlexTensor,
    [gamma, beta]: [&FlexTensor; 2],
    epsilon: f64,
    reducer: Option<MomentReducer>,
) -> Normalized {
    record_host_call();
    match input.dtype() {
        DType::F64 => forward_typed::<f64>(rows, input, gamma, beta, epsilon, reducer),
        _ => forward_typed::<f32>(rows, input, gamma, beta, epsilon, reducer),
    }
}

/// Backward of the training-mode BatchNorm.
#[derive(Debug)]
struct BatchNormBackward;

impl Backward<Flex, 3> for BatchNormBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        fn typed<T: Real + Into<f64>>(saved: &Saved, grad: &FlexTensor) -> [FlexTensor; 3] {
            let grad = grad.to_contiguous();
            let [input, gamma, beta] = gradients(saved, host_values::<T>(&saved.input), host_values::<T>(&grad));
            let Rows {
                batch,
                channels,
                spatial,
            } = saved.rows;
            [
                FlexTensor::from_data(TensorData::new(input, [batch, channels, spatial])),
                FlexTensor::from_data(TensorData::new(gamma, [channels])),
                FlexTensor::from_data(TensorData::new(beta, [channels])),
            ]
        }
        record_host_call();
        let grad = grads.consume::<Flex>(&ops.node);
        let results = match grad.dtype() {
            DType::F64 => typed::<f64>(&ops.state, &grad),
            _ => typed::<f32>(&ops.state, &grad),
        };
        for (node, result) in ops.parents.into_iter().zip(results) {
            if let Some(node) = node {
                grads.register::<Flex>(node.id, result);
            }
        }
    }
}

/// Training-mode BatchNorm of `rows` (`[N, C, S]`) on `Autodiff<Flex>`: the output and the
/// batch mean and biased variance (`[C]` each, detached), or `None` on other backends or
/// when the dtypes differ. With a `reducer`, the statistics span every replica.
pub(super) fn batch_norm_train<B: Backend>(
    rows: Tensor<B, 3>,
    gamma: Tensor<B, 1>,
    beta: Tensor<B, 1>,
    epsilon: f64,
    reducer: Option<MomentReducer>,
) -> Option<(Tensor<B, 3>, Tensor<B, 1>, Tensor<B, 1>)> {
    let [batch, channels, spatial] = rows.dims();
    let sizes = Rows {
        batch,
        channels,
        spatial,
    };
    let device = rows.device();
    let dtype = rows.dtype();
    let statistic = |values: Vec<f64>| Tensor::<B, 1>::from_data(TensorData::new(values, [channels]), (&device, dtype));
    let [x, g, b] = [
        primitive_as::<B, Ad, 3>(&rows)?,
        primitive_as::<B, Ad, 1>(&gamma)?,
        primitive_as::<B, Ad, 1>(&beta)?,
    ];
    if !same_dtype(&[&x.primitive, &g.primitive, &b.primitive]) {
        return None;
    }
    let normalized = forward(sizes, &x.primitive, [&g.primitive, &b.primitive], epsilon, reducer);
    let result = match BatchNormBackward
        .prepare::<NoCheckpointing>([x.node.clone(), g.node.clone(), b.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(normalized.saved, normalized.output),
        OpsKind::UnTracked(prep) => prep.finish(normalized.output),
    };
    let output = tensor_from::<Ad, B, 3>(result)?;
    Some((output, statistic(normalized.mean), statistic(normalized.variance)))
}
