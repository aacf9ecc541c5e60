//! G_ema, the exponential moving average of the generator's weights, and its BatchNorm
//! statistics.
//!
//! The average lives on the inner (non-autodiff) backend, with running-statistics storage of
//! its own (burn's `RunningState` is shared between clones of one module, so a clone of G
//! would overwrite G's statistics). After every generator step its weights move towards G's,
//! `θ_ema ← β·θ_ema + (1 − β)·θ`, and G's BatchNorm running statistics are copied into it.
//! Averaged weights do not match the statistics of any one network, so before G_ema is
//! sampled, measured or saved its statistics are, by default, recomputed for its own weights
//! ([`recompute_batch_norm`], "precise BatchNorm"). The stored average itself never holds
//! recomputed statistics: it depends on G alone, so a resumed run continues it exactly.

use burn::module::{AutodiffModule, Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::Tensor;
use burn::tensor::backend::{AutodiffBackend, Backend};
use wgan_model::Generator;

use super::noise::{NoiseSource, Stream};

/// Fields of burn's BatchNorm holding running statistics: copied from G, never averaged.
const RUNNING_STATISTICS: [&str; 2] = ["running_mean", "running_var"];

/// Every float tensor of a module (parameters and running statistics), flattened, in the
/// module's visiting order.
struct CollectFloats<B: Backend> {
    tensors: Vec<Tensor<B, 1>>,
}

impl<B: Backend> ModuleVisitor<B> for CollectFloats<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let tensor = param.val();
        let count = tensor.shape().num_elements();
        self.tensors.push(tensor.reshape([count]));
    }
}

/// Blends each float tensor of the module it maps with the next of `raw` (same visiting
/// order): `β·ema + (1 − β)·raw` for parameters, `raw` for running statistics.
struct Blend<B: Backend> {
    raw: std::vec::IntoIter<Tensor<B, 1>>,
    beta: f64,
    /// Names of the modules and fields entered, innermost last.
    path: Vec<String>,
}

impl<B: Backend> ModuleMapper<B> for Blend<B> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, ema, mapper) = param.consume();
        let Some(raw) = self.raw.next() else {
            return Param::from_mapped_value(id, ema, mapper);
        };
        let raw: Tensor<B, D> = raw.reshape(ema.shape());
        let statistic = self
            .path
            .last()
            .is_some_and(|field| RUNNING_STATISTICS.contains(&field.as_str()));
        let value = if statistic || self.beta == 0.0 {
            raw
        } else {
            ema.mul_scalar(self.beta).add(raw.mul_scalar(1.0 - self.beta))
        };
        Param::from_mapped_value(id, value, mapper)
    }
}

/// `ema` moved towards `raw`: every weight becomes `β·ema + (1 − β)·raw`, and the BatchNorm
/// running statistics become `raw`'s. β = 0 copies `raw`; β = 1 keeps the weights and takes
/// only `raw`'s statistics.
pub fn blend_generator<B: Backend>(ema: Generator<B>, raw: &Generator<B>, beta: f64) -> Generator<B> {
    let mut floats = CollectFloats { tensors: Vec::new() };
    raw.visit(&mut floats);
    ema.map(&mut Blend {
        raw: floats.tensors.into_iter(),
        beta,
        path: Vec::new(),
    })
}

/// A copy of `generator` on the inner backend whose running statistics are its own.
pub fn detached_copy<B: AutodiffBackend>(generator: &Generator<B>) -> Generator<B::InnerBackend> {
    // `valid` builds fresh running-statistics storage for the inner module.
    generator.valid()
}

/// `generator` with every BatchNorm's running statistics replaced by the equal-weight means
/// of its batch mean and (biased) batch variance over `batches` noise batches of `batch_size`
/// (the fixed stream [`Stream::BatchNormNoise`] of `seed`), each layer seeing the batch
/// statistics of the layers before it, as in training. The weights are unchanged; the result
/// is a function of the weights, `seed`, `batches` and `batch_size` only.
pub fn recompute_batch_norm<B: AutodiffBackend>(
    generator: &Generator<B::InnerBackend>,
    seed: u64,
    batches: usize,
    batch_size: usize,
    device: &B::Device,
) -> Generator<B::InnerBackend> {
    // `from_inner` gives the training-mode copy running-statistics storage of its own.
    let mut training: Generator<B> = Generator::from_inner(generator.clone()).no_grad();
    let momenta: Vec<f64> = training.batch_norms_mut().map(|norm| norm.momentum).collect();
    let mut noise = NoiseSource::new(seed, Stream::BatchNormNoise);
    for batch in 1..=batches {
        // running ← (1 − 1/k)·running + (1/k)·batch_k is the mean of the first k batches.
        for norm in training.batch_norms_mut() {
            norm.momentum = 1.0 / batch as f64;
        }
        let z = noise.normal::<B>(batch_size, generator.latent_dim, device);
        drop(training.forward(z));
    }
    for (norm, momentum) in training.batch_norms_mut().zip(momenta) {
        norm.momentum = momentum;
    }
    training.valid()
}
