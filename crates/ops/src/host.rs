//! Tensors of the CPU backend (flex, with or without autodiff) as host slices, for the
//! kernels that replace burn's slow paths there: convolution and upsampling.
//!
//! The networks are generic over the backend; a kernel applies when the backend type is
//! `Flex` or `Autodiff<Flex>` (checked by `TypeId`) and the dtype is f32 or f64. Everything
//! else goes through burn's own ops.

use std::any::{Any, TypeId};
use std::ops::{Add, AddAssign, Mul};

use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::{DType, Element, Tensor, TensorPrimitive, backend::Backend};
use rayon::iter::ParallelExtend;

/// The element types the kernels run on.
pub trait Real: bytemuck::Pod + Element + Send + Sync + Add<Output = Self> + AddAssign + Mul<Output = Self> {
    /// Additive identity.
    const ZERO: Self;
    /// Multiplicative identity.
    const ONE: Self;
    /// The nearest value to `value`.
    fn from_f64(value: f64) -> Self;
}

impl Real for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    fn from_f64(value: f64) -> Self {
        value as f32
    }
}

impl Real for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    fn from_f64(value: f64) -> Self {
        value
    }
}

/// `len` zeros, written by every thread: a kernel's output of a few MB is zeroed (and its
/// pages first touched) in parallel rather than on the calling thread before the parallel
/// work that fills it.
pub fn zeros<T: Real>(len: usize) -> Vec<T> {
    let mut values = Vec::with_capacity(len);
    values.par_extend(rayon::iter::repeat_n(T::ZERO, len));
    values
}

/// Whether `B` is the CPU backend, with or without autodiff.
pub fn on_cpu<B: Backend>() -> bool {
    [TypeId::of::<Autodiff<Flex>>(), TypeId::of::<Flex>()].contains(&TypeId::of::<B>())
}

/// Whether the kernels run on `dtype`.
pub fn is_real(dtype: DType) -> bool {
    matches!(dtype, DType::F32 | DType::F64)
}

/// `value` as type `T`, if `S` is `T`.
fn same_type<S: 'static, T: 'static>(value: S) -> Option<T> {
    let mut slot = Some(value);
    (&mut slot as &mut dyn Any)
        .downcast_mut::<Option<T>>()
        .and_then(Option::take)
}

/// The float primitive of `tensor` as backend `C`'s, if `B` is `C`.
pub fn primitive_as<B: Backend, C: Backend, const D: usize>(tensor: &Tensor<B, D>) -> Option<C::FloatTensorPrimitive> {
    same_type(tensor.clone().into_primitive().tensor())
}

/// A tensor of backend `C` from `primitive`, as backend `B`'s, if `B` is `C`.
pub fn tensor_from<C: Backend, B: Backend, const D: usize>(primitive: C::FloatTensorPrimitive) -> Option<Tensor<B, D>> {
    same_type(primitive).map(|primitive| Tensor::from_primitive(TensorPrimitive::Float(primitive)))
}

/// A contiguous tensor's values in row-major order, borrowed (see
/// [`FlexTensor::to_contiguous`]).
pub fn host_values<T: Real>(tensor: &FlexTensor) -> &[T] {
    match tensor.as_slice::<T>() {
        Some(values) => values,
        None => unreachable!(
            "host kernels: a {:?} tensor read as {:?}, or not contiguous; both are checked before",
            tensor.dtype(),
            T::dtype()
        ),
    }
}

/// Whether every tensor has the dtype of the first.
pub fn same_dtype(tensors: &[&FlexTensor]) -> bool {
    tensors.iter().all(|tensor| tensor.dtype() == tensors[0].dtype())
}
