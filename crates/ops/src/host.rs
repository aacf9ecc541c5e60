//! Tensors of the CPU backend (flex, with or without autodiff) as host slices, for the
//! kernels that replace burn's slow paths there: the element types the kernels run on,
//! their outputs' allocation, and reading a tensor's values. Whether a kernel applies at
//! all is [`crate::dispatch`]'s question.

use std::ops::{Add, AddAssign, Mul};

use burn::backend::flex::FlexTensor;
use burn::tensor::Element;
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
