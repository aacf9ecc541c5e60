//! The critic's loss: the Wasserstein estimate and, for WGAN-GP, the gradient penalty.

use burn::tensor::{Tensor, backend::Backend};
use wgan_model::{Critic, ModelError};

/// Added under the square root of the gradient norm, so that its derivative stays finite
/// when a gradient is exactly zero. It changes a norm of order 1 by about 1e-12.
const NORM_FLOOR: f64 = 1e-24;

/// The critic loss and its parts, each a one-element tensor.
#[derive(Debug, Clone)]
pub struct CriticLoss<B: Backend> {
    /// What the critic minimises: `mean D(fake) − mean D(real) [+ λ·GP]`.
    pub total: Tensor<B, 1>,
    /// `mean D(real) − mean D(fake)`, the Wasserstein-distance estimate that is logged.
    pub wasserstein: Tensor<B, 1>,
    /// `E[(‖∇x̂ D(x̂)‖₂ − 1)²]` without λ, for WGAN-GP.
    pub gradient_penalty: Option<Tensor<B, 1>>,
}

/// Euclidean norm of each sample over all of its channels and pixels.
///
/// # Shapes
/// - `x`: `[batch, channels, height, width]`
/// - output: `[batch]`
pub fn sample_norm<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 1> {
    let [batch, ..] = x.dims();
    x.square()
        .flatten::<2>(1, 3)
        .sum_dim(1)
        .reshape([batch])
        .add_scalar(NORM_FLOOR)
        .sqrt()
}

/// The gradient penalty `E[(‖∇x̂ D(x̂)‖₂ − 1)²]` (without λ) at `x̂ = ε·real + (1 − ε)·fake`.
///
/// Its gradient with respect to the critic's parameters is exact: the input gradient is
/// built from differentiable ops ([`Critic::input_gradient`]).
///
/// # Shapes
/// - `real`, `fake`: `[batch, channels, height, width]`, no gradient needed
/// - `epsilon`: `[batch, 1, 1, 1]`, one mixing weight in [0, 1] per sample
/// - output: `[1]`
pub fn gradient_penalty<B: Backend>(
    critic: &Critic<B>,
    real: Tensor<B, 4>,
    fake: Tensor<B, 4>,
    epsilon: Tensor<B, 4>,
) -> Result<Tensor<B, 1>, ModelError> {
    let mixed = epsilon.clone().mul(real).add(epsilon.neg().add_scalar(1.0).mul(fake));
    let gradient = critic.input_gradient(mixed)?; // [B, C, H, W]
    Ok(sample_norm(gradient).sub_scalar(1.0).square().mean())
}

/// The critic's loss on one batch. With `gradient_penalty = Some((epsilon, lambda))` the
/// penalty is added with weight λ; `fake` must already be detached from the generator.
///
/// # Shapes
/// - `real`, `fake`: `[batch, channels, height, width]`
/// - `epsilon`: `[batch, 1, 1, 1]`
pub fn critic_loss<B: Backend>(
    critic: &Critic<B>,
    real: Tensor<B, 4>,
    fake: Tensor<B, 4>,
    gradient_penalty_at: Option<(Tensor<B, 4>, f64)>,
) -> Result<CriticLoss<B>, ModelError> {
    let wasserstein = mean_score_gap(critic, real.clone(), fake.clone())?;
    let mut total = wasserstein.clone().neg();
    let mut penalty = None;
    if let Some((epsilon, lambda)) = gradient_penalty_at {
        let gp = gradient_penalty(critic, real, fake, epsilon)?;
        total = total.add(gp.clone().mul_scalar(lambda));
        penalty = Some(gp);
    }
    Ok(CriticLoss {
        total,
        wasserstein,
        gradient_penalty: penalty,
    })
}

/// `mean D(real) − mean D(fake)`, as a `[1]` tensor.
///
/// A critic without BatchNorm scores each image on its own, so real and fake go through it as
/// one batch of 2·batch: the same numbers as two passes, with larger and faster matrix
/// products. A BatchNorm critic normalises each batch by its own statistics, as the seed does,
/// so it scores them separately.
fn mean_score_gap<B: Backend>(
    critic: &Critic<B>,
    real: Tensor<B, 4>,
    fake: Tensor<B, 4>,
) -> Result<Tensor<B, 1>, ModelError> {
    if critic.has_batch_norm() {
        let score_real = critic.try_forward(real)?.mean();
        let score_fake = critic.try_forward(fake)?.mean();
        return Ok(score_real.sub(score_fake));
    }
    let [real_count, ..] = real.dims();
    let [fake_count, ..] = fake.dims();
    let scores = critic.try_forward(Tensor::cat(vec![real, fake], 0))?; // [real + fake, 1]
    // burn's `slice` takes one range per leading dimension: here the batch rows.
    #[allow(clippy::single_range_in_vec_init)]
    let score_real = scores.clone().slice([0..real_count]).mean();
    #[allow(clippy::single_range_in_vec_init)]
    let score_fake = scores.slice([real_count..real_count + fake_count]).mean();
    Ok(score_real.sub(score_fake))
}
