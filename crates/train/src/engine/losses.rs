//! The critic's loss: the Wasserstein estimate, a gradient-norm penalty and the drift term.

use burn::tensor::{Tensor, backend::Backend};
use wgan_model::{Critic, ModelError};

use crate::{NormPenalty, Penalty, SamplePoint};

/// Added under the square root of the gradient norm (and to the squared norm before a
/// power), so that derivatives stay finite when a gradient is exactly zero. It changes a norm
/// of order 1 by about 1e-12.
const NORM_FLOOR: f64 = 1e-24;

/// The critic loss and its parts, each a one-element tensor.
#[derive(Debug, Clone)]
pub struct CriticLoss<B: Backend> {
    /// What the critic minimises:
    /// `mean D(fake) − mean D(real) [+ weight·penalty] [+ ε_drift·E[D(real)²]]`.
    pub total: Tensor<B, 1>,
    /// `mean D(real) − mean D(fake)`, the Wasserstein-distance estimate that is logged.
    pub wasserstein: Tensor<B, 1>,
    /// The penalty's mean `E[φ(‖∇D‖)]` without its weight, with a penalty.
    pub gradient_penalty: Option<Tensor<B, 1>>,
    /// `E[D(real)²]` without ε_drift, with a drift term.
    pub drift: Option<Tensor<B, 1>>,
}

/// A penalty and the random numbers it needs for one batch.
#[derive(Debug, Clone)]
pub struct PenaltyTerm<B: Backend> {
    /// What to penalise, where, and how much.
    penalty: Penalty,
    /// One mixing weight in [0, 1] per sample, `[batch, 1, 1, 1]`, for interpolates only.
    epsilon: Option<Tensor<B, 4>>,
}

impl<B: Backend> PenaltyTerm<B> {
    /// `penalty` for one batch; `draw_epsilon` gives the interpolation weights
    /// (`[batch, 1, 1, 1]` in [0, 1]) and is called only if the penalty is taken at
    /// interpolates, so other penalties draw nothing from the interpolation stream.
    pub fn new(penalty: Penalty, draw_epsilon: impl FnOnce() -> Tensor<B, 4>) -> Self {
        let epsilon = (penalty.sample_at() == SamplePoint::Interpolate).then(draw_epsilon);
        Self { penalty, epsilon }
    }

    /// The penalty.
    pub fn penalty(&self) -> &Penalty {
        &self.penalty
    }
}

/// Squared Euclidean norm of each sample over all of its channels and pixels.
///
/// # Shapes
/// - `x`: `[batch, channels, height, width]`
/// - output: `[batch]`
pub fn squared_sample_norm<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 1> {
    let [batch, ..] = x.dims();
    x.square().flatten::<2>(1, 3).sum_dim(1).reshape([batch])
}

/// Euclidean norm of each sample over all of its channels and pixels.
///
/// # Shapes
/// - `x`: `[batch, channels, height, width]`
/// - output: `[batch]`
pub fn sample_norm<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 1> {
    squared_sample_norm(x).add_scalar(NORM_FLOOR).sqrt()
}

/// The images `penalty` takes the gradient at.
///
/// # Shapes
/// - `real`, `fake`: `[batch, channels, height, width]`
/// - `epsilon`: `[batch, 1, 1, 1]`, needed for [`SamplePoint::Interpolate`]
/// - output: `[batch, …]`, or `[2·batch, …]` for [`SamplePoint::RealAndFake`]
pub fn penalty_points<B: Backend>(
    at: SamplePoint,
    real: Tensor<B, 4>,
    fake: Tensor<B, 4>,
    epsilon: Option<Tensor<B, 4>>,
) -> Tensor<B, 4> {
    match (at, epsilon) {
        (SamplePoint::Real, _) => real,
        (SamplePoint::Fake, _) => fake,
        (SamplePoint::RealAndFake, _) => Tensor::cat(vec![real, fake], 0),
        (SamplePoint::Interpolate, Some(epsilon)) => {
            epsilon.clone().mul(real).add(epsilon.neg().add_scalar(1.0).mul(fake))
        }
        // [`PenaltyTerm::new`] always draws the weights for interpolates; a direct caller
        // without them gets the midpoints.
        (SamplePoint::Interpolate, None) => real.add(fake).mul_scalar(0.5),
    }
}

/// `E[φ(‖∇D(x)‖₂)]` (without the weight) at the points `penalty` names.
///
/// Its gradient with respect to the critic's parameters is exact: the input gradient is
/// built from differentiable ops ([`Critic::input_gradient`]).
///
/// # Shapes
/// - `real`, `fake`: `[batch, channels, height, width]`, no gradient needed
/// - `epsilon`: `[batch, 1, 1, 1]`, for interpolates
/// - output: `[1]`
pub fn gradient_penalty<B: Backend>(
    critic: &Critic<B>,
    penalty: &Penalty,
    real: Tensor<B, 4>,
    fake: Tensor<B, 4>,
    epsilon: Option<Tensor<B, 4>>,
) -> Result<Tensor<B, 1>, ModelError> {
    let points = penalty_points(penalty.sample_at(), real, fake, epsilon);
    let gradient = critic.input_gradient(points)?; // [N, C, H, W]
    let per_sample = match penalty.per_sample() {
        NormPenalty::TwoSided { center } => sample_norm(gradient).sub_scalar(center).square(),
        NormPenalty::OneSided { center } => sample_norm(gradient).sub_scalar(center).clamp_min(0.0).square(),
        NormPenalty::Power { exponent: 2.0 } => squared_sample_norm(gradient),
        NormPenalty::Power { exponent } => squared_sample_norm(gradient)
            .add_scalar(NORM_FLOOR)
            .powf_scalar(exponent / 2.0),
    };
    Ok(per_sample.mean())
}

/// The critic's loss on one batch, with an optional gradient-norm penalty and an optional
/// drift term `drift·E[D(real)²]` (`drift = 0`: none). `fake` must already be detached from
/// the generator.
///
/// # Shapes
/// - `real`, `fake`: `[batch, channels, height, width]`
pub fn critic_loss<B: Backend>(
    critic: &Critic<B>,
    real: Tensor<B, 4>,
    fake: Tensor<B, 4>,
    penalty: Option<PenaltyTerm<B>>,
    drift: f64,
) -> Result<CriticLoss<B>, ModelError> {
    let [score_real, score_fake] = scores(critic, real.clone(), fake.clone())?;
    let wasserstein = score_real.clone().mean().sub(score_fake.mean());
    let mut total = wasserstein.clone().neg();
    let mut gradient_penalty_value = None;
    if let Some(PenaltyTerm { penalty, epsilon }) = penalty {
        let value = gradient_penalty(critic, &penalty, real, fake, epsilon)?;
        total = total.add(value.clone().mul_scalar(penalty.weight()));
        gradient_penalty_value = Some(value);
    }
    let mut drift_value = None;
    if drift > 0.0 {
        let value = score_real.square().mean();
        total = total.add(value.clone().mul_scalar(drift));
        drift_value = Some(value);
    }
    Ok(CriticLoss {
        total,
        wasserstein,
        gradient_penalty: gradient_penalty_value,
        drift: drift_value,
    })
}

/// The critic's scores of the real and the fake batch, `[batch, 1]` each.
///
/// A critic without BatchNorm scores each image on its own, so real and fake go through it as
/// one batch of 2·batch: the same numbers as two passes, with larger and faster matrix
/// products. A BatchNorm critic normalises each batch by its own statistics, as the seed does,
/// so it scores them separately.
fn scores<B: Backend>(
    critic: &Critic<B>,
    real: Tensor<B, 4>,
    fake: Tensor<B, 4>,
) -> Result<[Tensor<B, 2>; 2], ModelError> {
    if critic.has_batch_norm() {
        return Ok([critic.try_forward(real)?, critic.try_forward(fake)?]);
    }
    let [real_count, ..] = real.dims();
    let [fake_count, ..] = fake.dims();
    let scores = critic.try_forward(Tensor::cat(vec![real, fake], 0))?; // [real + fake, 1]
    Ok([
        scores.clone().slice([0..real_count, 0..1]),
        scores.slice([real_count..real_count + fake_count, 0..1]),
    ])
}
