//! The one backend check of the host kernels, and the casts between a generic backend's
//! tensors and the CPU backend's.
//!
//! The networks are generic over the backend; a host kernel applies when the backend type is
//! `Flex` or `Autodiff<Flex>` (checked by `TypeId`) and the dtype is f32 or f64
//! ([`host_kernels_apply`]). Everything else goes through burn's own ops. An op that passes
//! the check downcasts its tensors with [`primitive_as`] to the one of the two backends
//! it handles (failing, and trying the other, or falling back to burn, for the other) and
//! wraps the kernel's result with [`tensor_from`].

use std::any::{Any, TypeId};

use burn::backend::{Autodiff, Flex};
use burn::tensor::{DType, Tensor, TensorPrimitive, backend::Backend};

/// Whether the host kernels apply to `dtype` tensors of backend `B`: `B` is the CPU
/// backend, with or without autodiff, and `dtype` is f32 or f64. Every op asks this, and
/// only this, before it tries a host kernel.
pub(crate) fn host_kernels_apply<B: Backend>(dtype: DType) -> bool {
    on_cpu::<B>() && is_real(dtype)
}

/// Whether `B` is the CPU backend, with or without autodiff.
fn on_cpu<B: Backend>() -> bool {
    [TypeId::of::<Autodiff<Flex>>(), TypeId::of::<Flex>()].contains(&TypeId::of::<B>())
}

/// Whether the kernels run on `dtype`.
fn is_real(dtype: DType) -> bool {
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
pub(crate) fn primitive_as<B: Backend, C: Backend, const D: usize>(
    tensor: &Tensor<B, D>,
) -> Option<C::FloatTensorPrimitive> {
    same_type(tensor.clone().into_primitive().tensor())
}

/// A tensor of backend `C` from `primitive`, as backend `B`'s, if `B` is `C`.
pub(crate) fn tensor_from<C: Backend, B: Backend, const D: usize>(
    primitive: C::FloatTensorPrimitive,
) -> Option<Tensor<B, D>> {
    same_type(primitive).map(|primitive| Tensor::from_primitive(TensorPrimitive::Float(primitive)))
}

#[cfg(test)]
thread_local! {
    /// Host kernel runs on this thread (forward and backward passes alike).
    static HOST_CALLS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Marks that a host kernel runs, its tensors downcast: counted per thread in tests (see
/// `host_calls`), nothing otherwise.
#[inline]
pub(crate) fn record_host_call() {
    #[cfg(test)]
    HOST_CALLS.with(|calls| calls.set(calls.get() + 1));
}

/// Host kernel runs on the calling thread so far, so that a test can tell a host kernel's
/// result from burn's fallback. burn's autodiff runs backward passes on the thread that
/// calls `backward`.
#[cfg(test)]
pub(crate) fn host_calls() -> usize {
    HOST_CALLS.with(std::cell::Cell::get)
}
