//! WGAN's weight clipping.

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Tensor, backend::AutodiffBackend};

/// Clamps every parameter of `module` to `[-clip_value, clip_value]`, keeping each
/// parameter's id (the optimizer state is keyed by it) and its gradient requirement.
///
/// BatchNorm running statistics are not parameters and are left alone.
pub fn clip_parameters<B: AutodiffBackend, M: Module<B>>(module: M, clip_value: f64) -> M {
    module.map(&mut Clip { clip_value })
}

struct Clip {
    clip_value: f64,
}

impl<B: AutodiffBackend> ModuleMapper<B> for Clip {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, tensor, mapper) = param.consume();
        if !tensor.is_require_grad() {
            // Running statistics are visited like parameters but never require a gradient.
            return Param::from_mapped_value(id, tensor, mapper);
        }
        let clamped = Tensor::from_inner(tensor.inner().clamp(-self.clip_value, self.clip_value)).require_grad();
        Param::from_mapped_value(id, clamped, mapper)
    }
}
