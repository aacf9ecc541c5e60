//! BatchNorm written for speed on the CPU backend, with burn's [`BatchNorm`] parameters and
//! numbers.
//!
//! `BatchNorm::forward` broadcasts `[1, C, 1, 1]` statistics over `[N, C, H, W]` in six
//! element-wise ops; flex has no fast path for that stride pattern and walks each element
//! with a strided index iterator, which cost several times the convolution before it. Here
//! the input is viewed as `[N, C, S]` rows (`S = H·W`, free for a contiguous tensor) and
//! every per-channel vector is materialised as one scalar per row, `[N, C, 1]`: each op is
//! then a contiguous row-broadcast, and every reduction runs over the last axis or over
//! the small `[N, C]` table. Four full-size ops remain (subtract, square, scale, shift).
//! That is the path on the GPU backends; training on the CPU backend goes through a host
//! kernel with its own backward pass ([`kernel`]): three passes over the data forward, two
//! backward.
//!
//! The arithmetic is burn's: batch mean, biased batch variance, `γ·(x − μ)/√(σ² + ε) + β`,
//! and the running averages updated as `(1 − momentum)·running + momentum·batch`.

mod kernel;
mod sync;

use burn::nn::BatchNorm;
use burn::tensor::{Tensor, backend::Backend};

use crate::dispatch::host_kernels_apply;
pub use sync::{MomentReducer, SynchronisedBatchNorm, synchronise_batch_norm, synchronised_batch_norm_supported};

/// Applies `norm` to `input`: batch statistics (and a running-average update) on an autodiff
/// backend, the running averages otherwise, like [`BatchNorm::forward`].
///
/// # Shapes
/// - `input`: `[batch, channels, ...]` with `D ≥ 2`
/// - output: the same shape
pub fn batch_norm<B: Backend, const D: usize>(norm: &BatchNorm<B>, input: Tensor<B, D>) -> Tensor<B, D> {
    let dims = input.dims();
    let [batch, channels] = [dims[0], dims[1]];
    let spatial: usize = dims[2..].iter().product();
    let rows = input.reshape([batch, channels, spatial]); // [N, C, S]
    let per_row = |vector: Tensor<B, 1>| vector.reshape([1, channels, 1]).repeat_dim(0, batch); // [N, C, 1]

    let training = B::ad_enabled(&rows.device());
    if training && host_kernels_apply::<B>(rows.dtype()) {
        let reducer = sync::current_reducer();
        let kernel = kernel::batch_norm_train(rows.clone(), norm.gamma.val(), norm.beta.val(), norm.epsilon, reducer);
        if let Some((output, mean, variance)) = kernel {
            update_running(norm, mean, variance);
            return output.reshape(dims);
        }
    }
    let output = if training {
        let count = (batch * spatial) as f64;
        let channel_mean = |x: Tensor<B, 3>| x.sum_dim(2).sum_dim(0).div_scalar(count); // [1, C, 1]
        let mean = channel_mean(rows.clone());
        let centered = rows - mean.clone().repeat_dim(0, batch);
        let variance = channel_mean(centered.clone().square()); // biased, as burn's
        update_running(norm, mean.reshape([channels]), variance.clone().reshape([channels]));
        let inv_std = variance.add_scalar(norm.epsilon).sqrt().recip().reshape([channels]);
        let scale = norm.gamma.val().mul(inv_std);
        centered.mul(per_row(scale)).add(per_row(norm.beta.val()))
    } else {
        let inv_std = norm.running_var.value().add_scalar(norm.epsilon).sqrt().recip();
        let scale = norm.gamma.val().mul(inv_std);
        let shift = norm.beta.val().sub(norm.running_mean.value().mul(scale.clone()));
        rows.mul(per_row(scale)).add(per_row(shift))
    };
    output.reshape(dims)
}

/// `running ← (1 − momentum)·running + momentum·batch` for mean and variance, detached.
///
/// # Shapes
/// - `mean`, `variance`: `[channels]`
fn update_running<B: Backend>(norm: &BatchNorm<B>, mean: Tensor<B, 1>, variance: Tensor<B, 1>) {
    let blend = |running: Tensor<B, 1>, batch: Tensor<B, 1>| {
        running
            .mul_scalar(1.0 - norm.momentum)
            .add(batch.detach().mul_scalar(norm.momentum))
            .detach()
    };
    norm.running_mean.update(blend(norm.running_mean.value_sync(), mean));
    norm.running_var.update(blend(norm.running_var.value_sync(), variance));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cast_parameters;
    use crate::dispatch::host_calls;
    use burn::backend::{Autodiff, Flex};
    use burn::module::AutodiffModule;
    use burn::nn::BatchNormConfig;
    use burn::tensor::{DType, Distribution};

    type Ad = Autodiff<Flex>;

    fn assert_close<B: Backend, const D: usize>(actual: Tensor<B, D>, expected: Tensor<B, D>, what: &str) {
        let actual = actual.into_data();
        let expected = expected.into_data();
        assert_eq!(actual.shape, expected.shape, "{what}: shape");
        for (index, (a, e)) in actual.iter::<f64>().zip(expected.iter::<f64>()).enumerate() {
            // f64 throughout, but the two sum in different orders over different layouts
            // (and flex accumulates some f64 reductions in f32): ~1e-9 apart. A wrong
            // formula is off by far more than 1e-7.
            assert!(
                (a - e).abs() <= 1e-7 * (1.0 + e.abs()),
                "{what}[{index}]: {a} vs burn's {e}"
            );
        }
    }

    /// An f64 tensor of `shape` drawn from `distribution`.
    fn random<B: Backend, const D: usize>(
        shape: [usize; D],
        distribution: Distribution,
        device: &B::Device,
    ) -> Tensor<B, D> {
        Tensor::<B, D>::random(shape, distribution, device).cast(DType::F64)
    }

    /// Two f64 BatchNorms with the same γ, β and running statistics (all away from their
    /// defaults), each with its own running state: ours and burn's reference.
    fn norm_pair(channels: usize, device: &burn::tensor::Device<Ad>) -> [BatchNorm<Ad>; 2] {
        let gamma = random::<Ad, 1>([channels], Distribution::Uniform(0.5, 1.5), device);
        let beta = random::<Ad, 1>([channels], Distribution::Uniform(-1.0, 1.0), device);
        let running_mean = random::<Ad, 1>([channels], Distribution::Uniform(-0.5, 0.5), device);
        let running_var = random::<Ad, 1>([channels], Distribution::Uniform(0.5, 1.5), device);
        [(); 2].map(|_| {
            let mut norm = cast_parameters(
                BatchNormConfig::new(channels)
                    .with_epsilon(1e-3)
                    .with_momentum(0.1)
                    .init::<Ad>(device),
                DType::F64,
            );
            norm.gamma = norm.gamma.map(|_| gamma.clone().require_grad());
            norm.beta = norm.beta.map(|_| beta.clone().require_grad());
            norm.running_mean.update(running_mean.clone());
            norm.running_var.update(running_var.clone());
            norm
        })
    }

    /// Forward, all three gradients, both running averages, and the inference-mode output
    /// match `BatchNorm::forward` in f64.
    fn matches_burn<const D: usize>(shape: [usize; D]) {
        let device = Default::default();
        let [norm, reference] = norm_pair(shape[1], &device);
        let input = random::<Ad, D>(shape, Distribution::Normal(0.3, 2.0), &device);
        // A non-uniform upstream gradient, so the backward pass is exercised fully.
        let upstream = random::<Ad, D>(shape, Distribution::Normal(0.0, 1.0), &device);

        let calls = host_calls();
        let ours_input = input.clone().require_grad();
        let ours = batch_norm(&norm, ours_input.clone());
        let ours_grads = ours.clone().mul(upstream.clone()).sum().backward();
        let theirs_input = input.require_grad();
        let theirs = reference.forward(theirs_input.clone());
        let theirs_grads = theirs.clone().mul(upstream).sum().backward();
        // The host kernel forward and backward, none in burn's reference.
        assert_eq!(host_calls() - calls, 2, "host kernel runs");

        assert_close(ours, theirs, "output");
        assert_close(
            ours_input.grad(&ours_grads).expect("input grad"),
            theirs_input.grad(&theirs_grads).expect("input grad"),
            "d/dinput",
        );
        assert_close(
            norm.gamma.val().grad(&ours_grads).expect("gamma grad"),
            reference.gamma.val().grad(&theirs_grads).expect("gamma grad"),
            "d/dgamma",
        );
        assert_close(
            norm.beta.val().grad(&ours_grads).expect("beta grad"),
            reference.beta.val().grad(&theirs_grads).expect("beta grad"),
            "d/dbeta",
        );
        assert_close(
            norm.running_mean.value_sync(),
            reference.running_mean.value_sync(),
            "running mean",
        );
        assert_close(
            norm.running_var.value_sync(),
            reference.running_var.value_sync(),
            "running var",
        );

        let eval_input = random::<Flex, D>(shape, Distribution::Normal(0.3, 2.0), &device);
        let calls = host_calls();
        assert_close(
            batch_norm(&norm.valid(), eval_input.clone()),
            reference.valid().forward(eval_input),
            "inference output",
        );
        // Inference is the row-broadcast burn ops on every backend.
        assert_eq!(host_calls() - calls, 0, "host kernel runs in inference");
    }

    #[test]
    fn matches_burn_on_feature_maps() {
        matches_burn([5, 3, 4, 6]);
    }

    #[test]
    fn matches_burn_on_flat_features() {
        matches_burn([7, 9]);
    }

    #[test]
    fn running_averages_move_towards_the_batch() {
        // A failing update (skipped, or the momentum reversed) shows up here even where
        // burn's own would fail the same way.
        let device = Default::default();
        let [norm, _] = norm_pair(2, &device);
        let before = norm.running_mean.value_sync().into_data().to_vec::<f64>().expect("f64");
        let input = random::<Ad, 4>([4, 2, 3, 3], Distribution::Normal(5.0, 1.0), &device);
        let calls = host_calls();
        let _ = batch_norm(&norm, input);
        assert_eq!(host_calls() - calls, 1, "host kernel runs");
        let after = norm.running_mean.value_sync().into_data().to_vec::<f64>().expect("f64");
        for (b, a) in before.iter().zip(&after) {
            // Batch mean ≈ 5; momentum 0.1 moves the average a tenth of the way there.
            assert!((a - (0.9 * b + 0.5)).abs() < 0.1, "running mean {b} -> {a}");
        }
    }
}
