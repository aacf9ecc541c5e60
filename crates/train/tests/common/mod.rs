//! Helpers shared by the trainer's integration tests.

#![allow(dead_code)]

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use wgan_data::{ImageSet, Pixels};
use wgan_train::Engine;

/// 64 distinct 16×16 images with pixels in [−1, 1].
pub fn distinct_images() -> ImageSet {
    let size = 16;
    let pixels = (0..64 * size * size)
        .map(|p| (((p * 37) % 101) as f32 / 50.0) - 1.0)
        .collect();
    ImageSet::new(Pixels::Unit(pixels), vec![0; 64], 1, size).unwrap()
}

/// Every float tensor of a module, running statistics included, in visiting order.
struct Collect(Vec<TensorData>);

impl<B: Backend> ModuleVisitor<B> for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.0.push(param.val().into_data());
    }
}

/// `(generator, critic)` tensors of an engine, in visiting order.
pub fn snapshot<B: AutodiffBackend>(engine: &Engine<B>) -> (Vec<TensorData>, Vec<TensorData>) {
    let mut generator = Collect(Vec::new());
    engine.generator().visit(&mut generator);
    let mut critic = Collect(Vec::new());
    engine.critic().visit(&mut critic);
    (generator.0, critic.0)
}
