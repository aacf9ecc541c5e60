//! Helpers shared by the trainer's integration tests.

#![allow(dead_code)]

use std::path::Path;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use wgan_data::{ImageSet, Pixels};
use wgan_model::Variant;
use wgan_train::{Engine, OptimizerConfig, Run, RunConfig, RunDir, Silent, TrainStepMetrics};

/// The `variant` preset shrunk for 16×16 images: DIM `dim`, z of length `latent_dim`, one
/// stage each way (generator widths [2, 1], critic [1, 2]), batches of `batch_size`, quality
/// measurements off, every stream from `seed`.
pub fn small_config(variant: Variant, seed: u64, dim: usize, latent_dim: usize, batch_size: usize) -> RunConfig {
    let mut config = RunConfig::preset(variant);
    config.seed = seed;
    config.model.dim = dim;
    config.model.latent_dim = latent_dim;
    config.model.image_size = 16;
    config.model.generator_widths = vec![2, 1];
    config.model.critic_widths = vec![1, 2];
    config.data.batch_size = batch_size;
    config.schedule.eval_interval = 0;
    config
}

/// Both optimizers at learning rate 0.01 with an epsilon well above rounding (1 for Adam,
/// 1e-3 for RMSprop): under the seed's tiny epsilon they move a weight by about the learning
/// rate whatever its gradient, so a gradient that is rounding noise (a bias feeding a
/// BatchNorm has exact gradient zero) would move it by ±lr in two runs that agree.
pub fn with_visible_updates(mut config: RunConfig) -> RunConfig {
    for optimizer in [&mut config.optimizer.critic, &mut config.optimizer.generator] {
        *optimizer = match *optimizer {
            OptimizerConfig::Adam { beta1, beta2, .. } => OptimizerConfig::Adam {
                learning_rate: 0.01,
                beta1,
                beta2,
                epsilon: 1.0,
            },
            OptimizerConfig::RmsProp { alpha, .. } => OptimizerConfig::RmsProp {
                learning_rate: 0.01,
                alpha,
                epsilon: 1e-3,
            },
        };
    }
    config
}

/// Whether the tensor named `name` is the bias of a layer that a BatchNorm follows
/// (`blocks.N.conv` before `blocks.N.norm`, `project` before `project_norm`). BatchNorm
/// subtracts the batch mean, so such a bias changes nothing and its gradient is zero in exact
/// arithmetic: what the optimizer makes of its rounding noise differs between backends or
/// between runs that sum in another order.
pub fn bias_before_batch_norm(name: &str, names: &[String]) -> bool {
    let Some(layer) = name.strip_suffix(".bias") else {
        return false;
    };
    let norms = [
        layer.strip_suffix(".conv").map(|block| format!("{block}.norm")),
        Some(format!("{layer}_norm")),
    ];
    norms
        .into_iter()
        .flatten()
        .any(|norm| names.iter().any(|other| other.starts_with(&format!("{norm}."))))
}

/// Each logged value of two runs' same step, by name: `(name, a's, b's)`; a missing penalty
/// counts as 0.
pub fn metric_pairs(a: &TrainStepMetrics, b: &TrainStepMetrics) -> [(&'static str, f64, f64); 4] {
    [
        ("critic_loss", a.critic_loss, b.critic_loss),
        ("generator_loss", a.generator_loss, b.generator_loss),
        ("wasserstein_estimate", a.wasserstein_estimate, b.wasserstein_estimate),
        (
            "gradient_penalty",
            a.gradient_penalty.unwrap_or(0.0),
            b.gradient_penalty.unwrap_or(0.0),
        ),
    ]
}

/// 64 distinct 16×16 images with pixels in [−1, 1].
pub fn distinct_images() -> ImageSet {
    let size = 16;
    let pixels = (0..64 * size * size)
        .map(|p| (((p * 37) % 101) as f32 / 50.0) - 1.0)
        .collect();
    ImageSet::new(Pixels::Unit(pixels), vec![0; 64], 1, size).unwrap()
}

/// Every float tensor of a module with its module path, running statistics included.
struct CollectNamed {
    path: Vec<String>,
    tensors: Vec<(String, TensorData)>,
}

impl<B: Backend> ModuleVisitor<B> for CollectNamed {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.tensors.push((self.path.join("."), param.val().into_data()));
    }
}

/// Every float tensor of `module` (running statistics included) in visiting order, each with
/// its dotted module path under `prefix` (`generator.blocks.0.conv.bias`; no prefix for "").
pub fn named_tensors<B: Backend, M: Module<B>>(prefix: &str, module: &M) -> Vec<(String, TensorData)> {
    let mut visitor = CollectNamed {
        path: (!prefix.is_empty()).then(|| prefix.to_string()).into_iter().collect(),
        tensors: Vec::new(),
    };
    module.visit(&mut visitor);
    visitor.tensors
}

/// Every float tensor of `module` (running statistics included), in visiting order.
pub fn tensors<B: Backend, M: Module<B>>(module: &M) -> Vec<TensorData> {
    named_tensors("", module)
        .into_iter()
        .map(|(_, tensor)| tensor)
        .collect()
}

/// `(generator, critic)` tensors of an engine, in visiting order.
pub fn snapshot<B: AutodiffBackend>(engine: &Engine<B>) -> (Vec<TensorData>, Vec<TensorData>) {
    (tensors(engine.generator()), tensors(engine.critic()))
}

/// A run of `config` on [`distinct_images`] in a new run directory `parent/name`, on the
/// default device, not yet trained.
pub fn new_run<B: AutodiffBackend>(config: RunConfig, parent: &Path, name: &str) -> (RunDir, Run<B>) {
    let run_dir = RunDir::create(parent.join(name)).unwrap();
    let run = Run::create(config, distinct_images(), run_dir.clone(), Default::default()).unwrap();
    (run_dir, run)
}

/// [`new_run`], trained to its last step.
pub fn trained_run<B: AutodiffBackend>(config: RunConfig, parent: &Path, name: &str) -> (RunDir, Run<B>) {
    let (run_dir, mut run) = new_run(config, parent, name);
    run.run(&mut Silent).unwrap();
    (run_dir, run)
}
