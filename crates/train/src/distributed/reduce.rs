//! The all-reduces of a data-parallel step, through burn-collective: gradients and logged
//! values (mean), BatchNorm moments (sum) and running averages (mean).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use burn::module::{AutodiffModule, ModuleVisitor, Param, ParamId};
use burn::nn::BatchNorm;
use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{DType, Tensor, TensorData, TensorPrimitive};
use burn_collective::{PeerId, ReduceOperation, all_reduce};
use wgan_model::{Critic, Generator};
use wgan_ops::MomentReducer;

use super::{NodeLink, Replica};
use crate::TrainError;

/// Where a replica's all-reduces go: burn-collective's peers in this process, or (with a
/// link) the other processes of a multi-node run. Counts the bytes it passes.
#[derive(Debug, Clone)]
pub(super) struct Exchange {
    /// The replica's rank, its burn-collective peer id.
    pub rank: usize,
    pub link: Option<Arc<NodeLink>>,
    pub exchanged: Arc<AtomicU64>,
}

impl Exchange {
    /// `tensor` reduced with `operation` across every replica.
    fn reduced<B: Backend, const D: usize>(
        &self,
        tensor: Tensor<B, D>,
        operation: ReduceOperation,
    ) -> Result<Tensor<B, D>, String> {
        let bytes = tensor.shape().num_elements() * tensor.dtype().size();
        self.exchanged.fetch_add(bytes as u64, Ordering::Relaxed);
        if let Some(link) = &self.link {
            return link.all_reduce(self.rank, tensor, operation);
        }
        let primitive = tensor.into_primitive().tensor();
        all_reduce::<B>(PeerId::from(self.rank), primitive, operation)
            .map(|reduced| Tensor::from_primitive(TensorPrimitive::Float(reduced)))
            .map_err(|error| format!("all-reduce failed: {error:?}"))
    }
}

/// A reducer that sums BatchNorm moments across replicas through `exchange`, on `device`.
/// Kernels cannot return errors, so a failed exchange leaves the moments this replica's own
/// and is recorded in `failure` for [`Replica::check_exchanges`].
pub(super) fn moment_reducer<B: Backend>(
    exchange: Exchange,
    device: B::Device,
    failure: Arc<Mutex<Option<String>>>,
) -> MomentReducer {
    MomentReducer::new(move |values: &mut [f64]| {
        let local = Tensor::<B, 1>::from_data(TensorData::new(values.to_vec(), [values.len()]), (&device, DType::F64));
        let summed = exchange
            .reduced(local, ReduceOperation::Sum)
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
        self.exchange
            .reduced(tensor, ReduceOperation::Mean)
            .map_err(|reason| self.error(reason))
    }

    /// Every gradient of `module`'s parameters in `grads` averaged across replicas, in one
    /// all-reduce of them all, flattened in the module's parameter order (the same on every
    /// replica).
    pub(crate) fn mean_gradients<B: AutodiffBackend, M: AutodiffModule<B>>(
        &self,
        module: &M,
        grads: GradientsParams,
    ) -> Result<GradientsParams, TrainError> {
        let mut gather = GatherGradients::<B> {
            grads,
            flat: Vec::new(),
            order: Vec::new(),
        };
        module.visit(&mut gather);
        if gather.flat.is_empty() {
            return Ok(gather.grads);
        }
        let mean = self.mean(Tensor::cat(gather.flat, 0))?;
        let mut scatter = ScatterGradients::<B> {
            grads: gather.grads,
            mean,
            order: gather.order.into_iter(),
            offset: 0,
        };
        module.visit(&mut scatter);
        Ok(scatter.grads)
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

/// Takes every parameter's gradient out of `grads`, flattened, with its id and shape.
struct GatherGradients<B: AutodiffBackend> {
    grads: GradientsParams,
    flat: Vec<Tensor<B::InnerBackend, 1>>,
    order: Vec<(ParamId, Vec<usize>)>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for GatherGradients<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(grad) = self.grads.remove::<B::InnerBackend, D>(param.id) {
            let dims = grad.dims().to_vec();
            self.flat.push(grad.reshape([dims.iter().product::<usize>()]));
            self.order.push((param.id, dims));
        }
    }
}

/// Puts each gradient back, cut from `mean` in the order [`GatherGradients`] took them.
struct ScatterGradients<B: AutodiffBackend> {
    grads: GradientsParams,
    mean: Tensor<B::InnerBackend, 1>,
    order: std::vec::IntoIter<(ParamId, Vec<usize>)>,
    offset: usize,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for ScatterGradients<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let Some((id, dims)) = self.order.as_slice().first() else {
            return;
        };
        let Ok(shape) = <[usize; D]>::try_from(dims.as_slice()) else {
            return;
        };
        if *id != param.id {
            return;
        }
        let len = dims.iter().product::<usize>();
        let grad = self.mean.clone().slice(self.offset..self.offset + len).reshape(shape);
        self.grads.register::<B::InnerBackend, D>(param.id, grad);
        self.offset += len;
        self.order.next();
    }
}
