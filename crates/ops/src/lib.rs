//! The tensor ops the WGAN networks are built from: burn's own ops on every backend but the
//! CPU one (flex, with or without autodiff), where host kernels with their own backward
//! passes replace burn's slow paths.
//!
//! - [`conv2d`], [`conv2d_detached`], [`conv2d_adjoint`]: 2-D convolution and its adjoint,
//!   on the CPU as matrix products over unrolled patches;
//! - [`batch_norm()`]: burn's `BatchNorm` as contiguous row broadcasts, and in training on the
//!   CPU a host kernel of three passes forward and two backward, whose statistics can span
//!   every replica of a data-parallel step ([`synchronise_batch_norm`]);
//! - [`leaky_relu`], [`relu`]: on the CPU one parallel pass each way;
//! - [`upsample_bilinear_2x`]: ×2 bilinear upsampling with half-pixel centres, a two-tap
//!   stencil per axis (the map of [`bilinear_matrix`]), on the CPU as a host kernel;
//! - [`host_matrix_product_peak`]: the GFLOP/s of the CPU convolutions' gemm call on every
//!   thread at once, the peak `wgan bench --peak` compares a CPU step with;
//! - [`cast_parameters`]: a module's parameters in another float dtype (f64 gradient checks).
//!
//! Each op gives the same numbers (to rounding) on every backend. The host kernels run on
//! f32 and f64 only; other dtypes take the generic path on the CPU too.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod activation;
mod batch_norm;
mod conv;
mod dispatch;
mod dtype;
mod host;
mod upsample;

pub use activation::{leaky_relu, relu};
pub use batch_norm::{
    MomentReducer, SynchronisedBatchNorm, batch_norm, synchronise_batch_norm, synchronised_batch_norm_supported,
};
pub use conv::{HOST_PEAK_SIZE, conv2d, conv2d_adjoint, conv2d_detached, host_matrix_product_peak};
pub use dtype::cast_parameters;
pub use upsample::{bilinear_matrix, upsample_bilinear_2x};
