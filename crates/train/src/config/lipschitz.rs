//! How the critic is kept (approximately) 1-Lipschitz: `[lipschitz]`, one `kind` per
//! constraint, each with its formula, defaults and paper.

use serde::{Deserialize, Serialize};

use crate::ConfigError;

/// The Lipschitz constraint on the critic.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LipschitzConstraint {
    /// WGAN (Arjovsky et al. 2017): clamp every critic parameter to
    /// `[-clip_value, clip_value]` after each critic step. Seed: 0.01.
    WeightClip {
        /// Half-width of the clipping interval, > 0.
        clip_value: f64,
    },
    /// A penalty on the norm of the critic's input gradient (see [`GradientPenalty`]).
    GradientPenalty(GradientPenalty),
    /// A zero-centred penalty, R1 or R0 (see [`ZeroCentered`]).
    ZeroCentered(ZeroCentered),
    /// WGAN-div (see [`WganDiv`]).
    WganDiv(WganDiv),
    /// Spectral normalisation (Miyato et al. 2018): every critic weight `W` (a convolution's
    /// kernel reshaped to `[out, in·k·k]`, the linear layer's `[out, in]`) is used as
    /// `W / σ(W)`, with σ the largest singular value estimated by power iteration. The
    /// vectors `u` persist between steps and in checkpoints; σ's gradient treats `u` and `v`
    /// as constants, as the paper does.
    SpectralNorm {
        /// Power iterations per critic step, ≥ 1. The paper: 1.
        #[serde(default = "one_iteration")]
        power_iterations: u32,
        /// A gradient-norm penalty added on top; absent: none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        penalty: Option<Penalty>,
    },
}

/// A penalty on the critic's input-gradient norm, alone or under spectral normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Penalty {
    /// See [`GradientPenalty`].
    GradientPenalty(GradientPenalty),
    /// See [`ZeroCentered`].
    ZeroCentered(ZeroCentered),
    /// See [`WganDiv`].
    WganDiv(WganDiv),
}

/// `λ·E[(‖∇D(x̂)‖₂ − c)²]` (WGAN-GP, Gulrajani et al. 2017), or with `one_sided`,
/// `λ·E[max(0, ‖∇D(x̂)‖₂ − c)²]` (WGAN-LP, Petzka et al. 2018), which only penalises
/// gradients steeper than `c`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradientPenalty {
    /// Weight λ ≥ 0. Seed: 10.
    #[serde(rename = "gp_lambda")]
    pub lambda: f64,
    /// Target norm `c` ≥ 0. Default 1.
    #[serde(default = "unit_center")]
    pub center: f64,
    /// Penalise only norms above `c`. Default false.
    #[serde(default)]
    pub one_sided: bool,
    /// Where the gradient is taken. Default: interpolates.
    #[serde(default = "SamplePoint::interpolate")]
    pub sample_at: SamplePoint,
}

/// `(γ/2)·E[‖∇D(x)‖₂²]`: R1 at real samples (Mescheder et al. 2018), R0 at interpolates
/// (`sample_at = "interpolate"`), or at fakes (R2).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZeroCentered {
    /// Weight γ ≥ 0 (the penalty is γ/2 times the mean squared norm). Mescheder et al.: 10.
    pub gamma: f64,
    /// Where the gradient is taken. Default: real samples (R1).
    #[serde(default = "SamplePoint::real")]
    pub sample_at: SamplePoint,
}

/// WGAN-div (Wu et al. 2018): `k·E[‖∇D(x)‖₂^p]`. The paper's best setting, the default, is
/// `k = 2`, `p = 6` at real and fake samples (`sample_at = "real_and_fake"`: the mean over
/// both batches, `k·(E_real + E_fake)/2`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WganDiv {
    /// Weight k ≥ 0. Default 2.
    #[serde(default = "div_k")]
    pub k: f64,
    /// Power p > 0. Default 6.
    #[serde(default = "div_p")]
    pub p: f64,
    /// Where the gradient is taken. Default: real and fake samples.
    #[serde(default = "SamplePoint::real_and_fake")]
    pub sample_at: SamplePoint,
}

/// The images a gradient-norm penalty is evaluated at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SamplePoint {
    /// The real batch.
    Real,
    /// The fake batch.
    Fake,
    /// `ε·real + (1 − ε)·fake`, one ε ~ U[0, 1] per sample.
    Interpolate,
    /// The real and the fake batch together (twice the batch).
    RealAndFake,
}

impl SamplePoint {
    fn real() -> Self {
        Self::Real
    }
    fn interpolate() -> Self {
        Self::Interpolate
    }
    fn real_and_fake() -> Self {
        Self::RealAndFake
    }
}

fn one_iteration() -> u32 {
    1
}
fn unit_center() -> f64 {
    1.0
}
fn div_k() -> f64 {
    2.0
}
fn div_p() -> f64 {
    6.0
}

impl LipschitzConstraint {
    /// The seed's WGAN constraint: clipping at 0.01.
    pub const SEED_WGAN: Self = Self::WeightClip { clip_value: 0.01 };
    /// The seed's WGAN-GP constraint: λ = 10, two-sided, centred at 1, at interpolates.
    pub const SEED_WGAN_GP: Self = Self::GradientPenalty(GradientPenalty {
        lambda: 10.0,
        center: 1.0,
        one_sided: false,
        sample_at: SamplePoint::Interpolate,
    });

    /// The gradient-norm penalty the critic loss carries, if any.
    pub fn penalty(&self) -> Option<Penalty> {
        match *self {
            Self::WeightClip { .. } => None,
            Self::GradientPenalty(gp) => Some(Penalty::GradientPenalty(gp)),
            Self::ZeroCentered(zc) => Some(Penalty::ZeroCentered(zc)),
            Self::WganDiv(div) => Some(Penalty::WganDiv(div)),
            Self::SpectralNorm { penalty, .. } => penalty,
        }
    }

    /// Whether the critic loss needs the critic's input gradient.
    pub fn is_gradient_penalty(&self) -> bool {
        self.penalty().is_some()
    }

    /// The clipping half-width, for weight clipping.
    pub fn clip_value(&self) -> Option<f64> {
        match *self {
            Self::WeightClip { clip_value } => Some(clip_value),
            _ => None,
        }
    }

    /// Power iterations per critic step, under spectral normalisation.
    pub fn spectral_norm_iterations(&self) -> Option<u32> {
        match *self {
            Self::SpectralNorm { power_iterations, .. } => Some(power_iterations),
            _ => None,
        }
    }

    /// A short name for logs and summaries: `weight_clip`, `gradient_penalty`,
    /// `one_sided_gradient_penalty`, `r1`, `r0`, `wgan_div`, `spectral_norm[+…]`.
    pub fn name(&self) -> String {
        match self {
            Self::WeightClip { .. } => "weight_clip".into(),
            Self::SpectralNorm { penalty: None, .. } => "spectral_norm".into(),
            Self::SpectralNorm {
                penalty: Some(penalty), ..
            } => format!("spectral_norm+{}", penalty.name()),
            other => other.penalty().map(|p| p.name()).unwrap_or_default(),
        }
    }

    /// Range checks, each error naming its `lipschitz.…` field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match *self {
            Self::WeightClip { clip_value } => positive("lipschitz.clip_value", clip_value),
            Self::SpectralNorm {
                power_iterations,
                penalty,
            } => {
                if power_iterations == 0 {
                    return Err(range(
                        "lipschitz.power_iterations",
                        "must be at least 1: σ is estimated by power iteration".into(),
                    ));
                }
                penalty.map_or(Ok(()), |p| p.validate("lipschitz.penalty"))
            }
            _ => self.penalty().map_or(Ok(()), |p| p.validate("lipschitz")),
        }
    }
}

impl Penalty {
    /// The coefficient in front of [`Penalty::per_sample`]'s mean: λ, γ/2 or k.
    pub fn weight(&self) -> f64 {
        match *self {
            Self::GradientPenalty(gp) => gp.lambda,
            Self::ZeroCentered(zc) => zc.gamma / 2.0,
            Self::WganDiv(div) => div.k,
        }
    }

    /// Where the gradient is taken.
    pub fn sample_at(&self) -> SamplePoint {
        match *self {
            Self::GradientPenalty(gp) => gp.sample_at,
            Self::ZeroCentered(zc) => zc.sample_at,
            Self::WganDiv(div) => div.sample_at,
        }
    }

    /// What is averaged over the samples, as a function of the gradient norm.
    pub fn per_sample(&self) -> NormPenalty {
        match *self {
            Self::GradientPenalty(gp) if gp.one_sided => NormPenalty::OneSided { center: gp.center },
            Self::GradientPenalty(gp) => NormPenalty::TwoSided { center: gp.center },
            Self::ZeroCentered(_) => NormPenalty::Power { exponent: 2.0 },
            Self::WganDiv(div) => NormPenalty::Power { exponent: div.p },
        }
    }

    /// `gradient_penalty`, `one_sided_gradient_penalty`, `r1`, `r0`, `r2`,
    /// `zero_centered_real_and_fake` or `wgan_div`.
    pub fn name(&self) -> String {
        match *self {
            Self::GradientPenalty(gp) if gp.one_sided => "one_sided_gradient_penalty".into(),
            Self::GradientPenalty(_) => "gradient_penalty".into(),
            Self::ZeroCentered(zc) => match zc.sample_at {
                SamplePoint::Real => "r1".into(),
                SamplePoint::Interpolate => "r0".into(),
                SamplePoint::Fake => "r2".into(),
                SamplePoint::RealAndFake => "zero_centered_real_and_fake".into(),
            },
            Self::WganDiv(_) => "wgan_div".into(),
        }
    }

    /// Range checks; `section` is the dotted path of the penalty's table.
    pub fn validate(&self, section: &str) -> Result<(), ConfigError> {
        match *self {
            Self::GradientPenalty(gp) => {
                non_negative(&format!("{section}.gp_lambda"), gp.lambda)?;
                non_negative(&format!("{section}.center"), gp.center)
            }
            Self::ZeroCentered(zc) => non_negative(&format!("{section}.gamma"), zc.gamma),
            Self::WganDiv(div) => {
                non_negative(&format!("{section}.k"), div.k)?;
                positive(&format!("{section}.p"), div.p)
            }
        }
    }
}

/// The per-sample penalty `φ(‖g‖)` on a gradient norm `‖g‖`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NormPenalty {
    /// `(‖g‖ − center)²`.
    TwoSided {
        /// The target norm.
        center: f64,
    },
    /// `max(0, ‖g‖ − center)²`.
    OneSided {
        /// The largest norm left unpenalised.
        center: f64,
    },
    /// `‖g‖^exponent`, computed as `(‖g‖²)^(exponent/2)`.
    Power {
        /// The power p.
        exponent: f64,
    },
}

fn range(field: &str, reason: String) -> ConfigError {
    ConfigError::Range {
        field: field.into(),
        reason,
    }
}

/// Fails unless `value` is finite and > 0, naming `field`.
pub(crate) fn positive(field: &str, value: f64) -> Result<(), ConfigError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(range(field, format!("must be a finite number > 0, got {value}")))
    }
}

/// Fails unless `value` is finite and ≥ 0, naming `field`.
pub(crate) fn non_negative(field: &str, value: f64) -> Result<(), ConfigError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(range(field, format!("must be a finite number >= 0, got {value}")))
    }
}
