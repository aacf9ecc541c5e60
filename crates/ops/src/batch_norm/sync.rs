//! Synchronised BatchNorm: in a data-parallel step, every replica's BatchNorm normalises with
//! the statistics of the whole batch, not of its own share.
//!
//! The training code installs a [`MomentReducer`] on the replica's thread for the duration of
//! a step ([`synchronise_batch_norm`]). The CPU kernel then sums its per-channel moments
//! across replicas: forward, the sums of `x` and then of `(x − μ)²`; backward, `Σ dy` and
//! `Σ dy·(x − μ)` for the input gradient (as PyTorch's `SyncBatchNorm` does). γ's and β's
//! gradients stay the replica's own, since the training code averages every parameter
//! gradient across replicas afterwards.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use burn::tensor::{DType, backend::Backend};

use crate::dispatch::host_kernels_apply;

/// Sums, element by element, the vectors that every replica passes at the same point of the
/// same step, and leaves the sums in each replica's vector: an all-reduce (sum).
#[derive(Clone)]
pub struct MomentReducer(Arc<SumAcrossReplicas>);

/// The all-reduce behind a [`MomentReducer`].
type SumAcrossReplicas = dyn Fn(&mut [f64]) + Send + Sync;

impl MomentReducer {
    /// A reducer from the all-reduce `reduce`.
    pub fn new(reduce: impl Fn(&mut [f64]) + Send + Sync + 'static) -> Self {
        Self(Arc::new(reduce))
    }

    /// Replaces `values` by their sums over every replica.
    pub(super) fn reduce(&self, values: &mut [f64]) {
        (self.0)(values);
    }
}

impl fmt::Debug for MomentReducer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MomentReducer")
    }
}

thread_local! {
    static REDUCER: RefCell<Option<MomentReducer>> = const { RefCell::new(None) };
}

/// While the returned guard lives, training-mode BatchNorm on this thread sums its moments
/// with `reducer` (see the module docs). The backward pass keeps the reducer it was
/// recorded with, whichever thread runs it.
pub fn synchronise_batch_norm(reducer: MomentReducer) -> SynchronisedBatchNorm {
    let previous = REDUCER.with(|slot| slot.borrow_mut().replace(reducer));
    SynchronisedBatchNorm { previous }
}

/// Restores the thread's previous reducer (normally none) when dropped.
#[must_use = "BatchNorm is synchronised only while the guard lives"]
#[derive(Debug)]
pub struct SynchronisedBatchNorm {
    previous: Option<MomentReducer>,
}

impl Drop for SynchronisedBatchNorm {
    fn drop(&mut self) {
        let previous = self.previous.take();
        REDUCER.with(|slot| *slot.borrow_mut() = previous);
    }
}

/// The reducer installed on this thread, if any.
pub(super) fn current_reducer() -> Option<MomentReducer> {
    REDUCER.with(|slot| slot.borrow().clone())
}

/// Whether training-mode BatchNorm on backend `B` can be synchronised: only the CPU kernel
/// sums across replicas; burn's ops on the GPU backends normalise per replica.
pub fn synchronised_batch_norm_supported<B: Backend>() -> bool {
    host_kernels_apply::<B>(DType::F32)
}

#[cfg(test)]
mod tests {
    use std::sync::{Barrier, Mutex};

    use burn::backend::{Autodiff, Flex};
    use burn::nn::{BatchNorm, BatchNormConfig};
    use burn::tensor::{Distribution, Tensor, TensorData};

    use super::*;
    use crate::batch_norm;
    use crate::cast_parameters;

    type Ad = Autodiff<Flex>;

    /// An all-reduce (sum) between `peers` threads: each adds its vector into a shared sum,
    /// waits for the others, and copies the sum out.
    struct TestAllReduce {
        peers: usize,
        sum: Mutex<Vec<f64>>,
        barrier: Barrier,
    }

    impl TestAllReduce {
        fn reduce(&self, values: &mut [f64]) {
            {
                let mut sum = self.sum.lock().expect("lock");
                if sum.len() != values.len() {
                    *sum = vec![0.0; values.len()];
                }
                sum.iter_mut().zip(values.iter()).for_each(|(s, v)| *s += v);
            }
            self.barrier.wait();
            values.copy_from_slice(&self.sum.lock().expect("lock"));
            // Everyone has read the sum before the next call starts a new one.
            if self.barrier.wait().is_leader() {
                self.sum.lock().expect("lock").clear();
            }
            self.barrier.wait();
        }
    }

    fn norm(channels: usize) -> BatchNorm<Ad> {
        let mut norm = cast_parameters(
            BatchNormConfig::new(channels)
                .with_epsilon(1e-3)
                .init::<Ad>(&Default::default()),
            DType::F64,
        );
        let device = Default::default();
        let vector =
            |values: [f64; 3]| Tensor::<Ad, 1>::from_data(TensorData::new(values.to_vec(), [3]), (&device, DType::F64));
        let [gamma, beta] = [vector([0.7, 1.3, 0.9]), vector([0.1, -0.2, 0.3])];
        norm.gamma = norm.gamma.map(|_| gamma.clone().require_grad());
        norm.beta = norm.beta.map(|_| beta.clone().require_grad());
        // The running statistics are not parameters: made f64 by hand.
        norm.running_mean
            .update(Tensor::zeros([channels], (&device, DType::F64)));
        norm.running_var.update(Tensor::ones([channels], (&device, DType::F64)));
        norm
    }

    /// Output, input gradient and γ, β gradients of `input` under `upstream`, with the
    /// running mean afterwards.
    fn run(norm: &BatchNorm<Ad>, input: Tensor<Ad, 4>, upstream: Tensor<Ad, 4>) -> [Vec<f64>; 5] {
        let input = input.require_grad();
        let output = batch_norm(norm, input.clone());
        let grads = output.clone().mul(upstream).sum().backward();
        let values = |tensor: Tensor<Flex, 4>| tensor.into_data().to_vec::<f64>().expect("f64");
        let vector = |tensor: Tensor<Flex, 1>| tensor.into_data().to_vec::<f64>().expect("f64");
        [
            values(output.inner()),
            values(input.grad(&grads).expect("input grad")),
            vector(norm.gamma.val().grad(&grads).expect("gamma grad")),
            vector(norm.beta.val().grad(&grads).expect("beta grad")),
            vector(norm.running_mean.value_sync().inner()),
        ]
    }

    fn assert_close(actual: &[f64], expected: &[f64], what: &str) {
        assert_eq!(actual.len(), expected.len(), "{what}: length");
        for (index, (a, e)) in actual.iter().zip(expected).enumerate() {
            assert!((a - e).abs() <= 1e-10 * (1.0 + e.abs()), "{what}[{index}]: {a} vs {e}");
        }
    }

    /// Two replicas with half a batch each, synchronised, give the whole batch's output,
    /// input gradient and running statistics, and γ, β gradients that add up to its own.
    #[test]
    fn two_synchronised_halves_match_the_whole_batch() {
        let device = Default::default();
        let shape = [6, 3, 2, 5];
        let input = Tensor::<Ad, 4>::random(shape, Distribution::Normal(0.4, 1.5), &device).cast(DType::F64);
        let upstream = Tensor::<Ad, 4>::random(shape, Distribution::Normal(0.0, 1.0), &device).cast(DType::F64);
        let whole = run(&norm(3), input.clone(), upstream.clone());

        let all_reduce = Arc::new(TestAllReduce {
            peers: 2,
            sum: Mutex::new(Vec::new()),
            barrier: Barrier::new(2),
        });
        let halves: Vec<[Vec<f64>; 5]> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..all_reduce.peers)
                .map(|half| {
                    let rows = half * 3..half * 3 + 3;
                    let [input, upstream] = [&input, &upstream].map(|t| t.clone().narrow(0, rows.start, rows.len()));
                    let all_reduce = Arc::clone(&all_reduce);
                    scope.spawn(move || {
                        let reducer = MomentReducer::new(move |values| all_reduce.reduce(values));
                        let _synchronised = synchronise_batch_norm(reducer);
                        run(&norm(3), input, upstream)
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().expect("replica")).collect()
        });
        let half_len = whole[0].len() / 2;
        for (half, values) in halves.iter().enumerate() {
            let rows = half * half_len..(half + 1) * half_len;
            assert_close(&values[0], &whole[0][rows.clone()], "output");
            assert_close(&values[1], &whole[1][rows], "input gradient");
            assert_close(&values[4], &whole[4], "running mean");
        }
        for (index, what) in [(2, "gamma gradient"), (3, "beta gradient")] {
            let summed: Vec<f64> = halves[0][index]
                .iter()
                .zip(&halves[1][index])
                .map(|(a, b)| a + b)
                .collect();
            assert_close(&summed, &whole[index], what);
        }
        // Without the reducer each half normalises with its own statistics.
        let alone = run(&norm(3), input.narrow(0, 0, 3), upstream.narrow(0, 0, 3));
        assert!(
            alone[0].iter().zip(&whole[0]).any(|(a, w)| (a - w).abs() > 1e-3),
            "an unsynchronised half should differ from the whole batch"
        );
    }
}
