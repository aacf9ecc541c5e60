//! The tensor ops the WGAN networks are built from, each on burn's own path on every
//! backend except the CPU one (flex, with or without autodiff), where host kernels with
//! their own backward passes replace burn's slow paths there.
//!
//! - [`conv2d`], [`conv2d_detached`], [`conv2d_adjoint`]: 2-D convolution and its adjoint,
//!   as matrix products over unrolled patches;
//! - [`batch_norm`]: training-mode BatchNorm in three passes forward and two backward;
//! - [`leaky_relu`], [`relu`]: one parallel pass each way;
//! - [`upsample_bilinear_2x`]: ×2 bilinear upsampling with half-pixel centres, a two-tap
//!   stencil per axis (and [`bilinear_matrix`], its 1-D interpolation matrix).
//!
//! Every op computes burn's numbers (to rounding) on every backend and dtype; the host
//! kernels run on f32 and f64.

#![warn(missing_docs)]

mod activation;
mod batch_norm;
mod conv;
mod dispatch;
mod host;
#[cfg(test)]
mod test_util;
mod upsample;

pub use activation::{leaky_relu, relu};
pub use batch_norm::batch_norm;
pub use conv::{conv2d, conv2d_adjoint, conv2d_detached};
pub use upsample::{bilinear_matrix, upsample_bilinear_2x};
