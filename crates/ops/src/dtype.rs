//! Changing the floating-point precision of a network's parameters.

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{DType, Tensor, backend::Backend};

/// Casts every trainable parameter of `module` to `dtype`, keeping parameter ids and whether
/// each one requires a gradient. Used to run the critic in f64 for gradient checks.
///
/// BatchNorm running statistics are cast too (burn visits them like parameters).
pub fn cast_parameters<B: Backend, M: Module<B>>(module: M, dtype: DType) -> M {
    module.map(&mut ParameterCast { dtype })
}

struct ParameterCast {
    dtype: DType,
}

impl<B: Backend> ModuleMapper<B> for ParameterCast {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, tensor, mapper) = param.consume();
        let requires_grad = tensor.is_require_grad();
        let cast = tensor.cast(self.dtype).detach();
        let cast = if requires_grad { cast.require_grad() } else { cast };
        Param::from_mapped_value(id, cast, mapper)
    }
}
