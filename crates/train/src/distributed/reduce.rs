//! The all-reduces of a data-parallel step, through burn-collective: gradients and logged
//! values (mean), BatchNorm moments (sum) and running averages (mean).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use burn::module::{AutodiffModule, ModuleVisitor, Param};
use burn::nn::BatchNorm;
use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{DType, Tensor, TensorData, TensorPrimitive};
use burn_collective::{PeerId, ReduceOperation, all_reduce};
use wgan_model::{Critic, Generator};
use wgan_ops::MomentReducer;

use super::Replica;
use crate::TrainError;

/// `tensor` reduced with `operation` across every replica, as peer `rank`; its size in bytes
/// is added to `exchanged`.
fn reduced<B: Backend, const D: usize>(
    rank: usize,
    tensor: Tensor<B, D>,
    operation: ReduceOperation,
    exchanged: &AtomicU64,
) -> Result<Tensor<B, D>, String> {
    let bytes = tensor.shape().num_elements() * tensor.dtype().size();
    exchanged.fetch_add(bytes as u64, Ordering::Relaxed);
    let primitive = tensor.into_primitive().tensor();
    all_reduce::<B>(PeerId::from(rank), primitive, operation)
        .map(|reduced| Tensor::from_primitive(TensorPrimitive::Float(reduced)))
        .map_err(|error| format!("all-reduce failed: {error:?}"))
}

/// A reducer that sums BatchNorm moments across replicas as peer `rank`, on `device`.
/// Kernels cannot return errors, so a failed exchange leaves the moments this replica's own
/// and is recorded in `failure` for [`Replica::check_exchanges`].
pub(super) fn moment_reducer<B: Backend>(
    rank: usize,
    device: B::Device,
    failure: Arc<Mutex<Option<String>>>,
    exchanged: Arc<AtomicU64>,
) -> MomentReducer {
    MomentReducer::new(move |values: &mut [f64]| {
        let local = Tensor::<B, 1>::from_data(TensorData::new(values.to_vec(), [values.len()]), (&device, DType::F64));
        let summed = reduced(rank, local, ReduceOperation::Sum, &exchanged)
            .and_then(|sum| sum.into_data().to_vec::<f64>().map_err(|error| format!("{error:?}")));
        match summed {
            Ok(sum) if sum.len() == values.len() => values.copy_from_slice(&sum),
            Ok(sum) => record(
                &failure,
                format!("moment all-reduce gave {} values, not {}", sum.len(), values.len()),
            ),
            Err(reason) => record(&failure, reason),
        }
    })
}

fn record(failure: &Mutex<Option<String>>, reason: String) {
    if let Ok(mut slot) = failure.lock() {
        slot.get_or_insert(reason);
    }
}

impl Replica {
    /// `tensor` averaged across every replica.
    pub(crate) fn mean<B: Backend, const D: usize>(&self, tensor: Tensor<B, D>) -> Result<Tensor<B, D>, TrainError> {
        reduced(self.rank, tensor, ReduceOperation::Mean, &self.exchanged).map_err(|reason| self.error(reason))
    }

    /// Every gradient of `module`'s parameters in `grads` averaged across replicas, in the
    /// module's parameter order (the same on every replica).
    pub(crate) fn mean_gradients<B: AutodiffBackend, M: AutodiffModule<B>>(
        &self,
        module: &M,
        grads: GradientsParams,
    ) -> Result<GradientsParams, TrainError> {
        let mut visitor = GradientMean::<B> {
            replica: self,
            grads,
            failure: None,
            backend: std::marker::PhantomData,
        };
        module.visit(&mut visitor);
        match visitor.failure {
            Some(error) => Err(error),
            None => Ok(visitor.grads),
        }
    }

    /// Every BatchNorm's running averages averaged across replicas (BatchNorm per replica).
    pub(crate) fn mean_running_statistics<B: AutodiffBackend>(
        &self,
        generator: &mut Generator<B>,
        critic: &mut Critic<B>,
    ) -> Result<(), TrainError> {
        let critic_norms = critic.blocks.iter_mut().filter_map(|block| block.norm.as_mut());
        for norm in generator.batch_norms_mut().chain(critic_norms) {
            self.mean_running(norm)?;
        }
        Ok(())
    }

    fn mean_running<B: AutodiffBackend>(&self, norm: &mut BatchNorm<B>) -> Result<(), TrainError> {
        let mean = self.mean(norm.running_mean.value_sync().inner())?;
        let variance = self.mean(norm.running_var.value_sync().inner())?;
        norm.running_mean.update(Tensor::from_inner(mean));
        norm.running_var.update(Tensor::from_inner(variance));
        Ok(())
    }
}

/// Replaces each parameter's gradient by its mean across replicas.
struct GradientMean<'a, B: AutodiffBackend> {
    replica: &'a Replica,
    grads: GradientsParams,
    failure: Option<TrainError>,
    backend: std::marker::PhantomData<B>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for GradientMean<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if self.failure.is_some() {
            return;
        }
        let Some(grad) = self.grads.remove::<B::InnerBackend, D>(param.id) else {
            return;
        };
        match self.replica.mean(grad) {
            Ok(mean) => self.grads.register::<B::InnerBackend, D>(param.id, mean),
            Err(error) => self.failure = Some(error),
        }
    }
}
