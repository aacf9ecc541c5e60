//! Every Lipschitz constraint's critic-parameter gradient is exact.
//!
//! burn's autodiff is first-order, so a penalty built from `x.grad()` silently contributes
//! zero gradient. These tests compare the autodiff gradient of the full critic loss,
//! `mean D(fake) − mean D(real) + weight·penalty [+ drift]`, under every penalty (two- and
//! one-sided GP, R1, R0, R2, WGAN-div), the drift term and spectral normalisation (alone and
//! with a penalty), against central finite differences in f64 for every parameter of a small
//! critic on 32×32 inputs; each has a planted bug (its term's gradient dropped) that the same
//! check catches. f32 is checked against f64.

use burn::backend::{Autodiff, Flex};
use burn::module::{AutodiffModule, Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{DType, Tensor, TensorData, backend::Backend};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wgan_model::{Critic, ModelConfig, SpectralVectors, Variant, cast_parameters};
use wgan_train::{
    GradientPenalty, LipschitzConstraint, Penalty, PenaltyTerm, SamplePoint, SpectralNormState, WganDiv, ZeroCentered,
    critic_loss, penalty_points, sample_norm,
};

type Ad = Autodiff<Flex>;
const BATCH: usize = 3;

/// Real, fake and ε drawn on the host (f32 values, so f32 and f64 runs see the same point).
struct Inputs {
    real: Vec<f32>,
    fake: Vec<f32>,
    epsilon: Vec<f32>,
}

impl Inputs {
    fn draw(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let image = |rng: &mut ChaCha8Rng| (0..BATCH * 32 * 32).map(|_| rng.random_range(-1.0..1.0)).collect();
        let real = image(&mut rng);
        let fake = image(&mut rng);
        let epsilon = (0..BATCH).map(|_| rng.random_range(0.0..1.0)).collect();
        Self { real, fake, epsilon }
    }

    fn tensors<B: Backend>(&self, dtype: DType) -> [Tensor<B, 4>; 3] {
        let device = Default::default();
        let make = |values: &[f32], shape: [usize; 4]| {
            Tensor::<B, 4>::from_data(TensorData::new(values.to_vec(), shape), &device).cast(dtype)
        };
        [
            make(&self.real, [BATCH, 1, 32, 32]),
            make(&self.fake, [BATCH, 1, 32, 32]),
            make(&self.epsilon, [BATCH, 1, 1, 1]),
        ]
    }
}

/// A WGAN-GP critic at DIM 2 (1→2→4→8 channels, 32→16→8→4 pixels): 1 179 parameters.
fn small_critic(seed: u64, conv_bias: bool) -> Critic<Ad> {
    let mut config = ModelConfig::preset(Variant::WganGp, 2);
    config.critic_conv_bias = conv_bias;
    Critic::new(&config, &mut ChaCha8Rng::seed_from_u64(seed), &Default::default()).unwrap()
}

/// Every parameter value, in visiting order.
struct Flatten(Vec<f64>);

impl<B: Backend> ModuleVisitor<B> for Flatten {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let values = param.val().cast(DType::F64).into_data().to_vec::<f64>().unwrap();
        self.0.extend(values);
    }
}

/// Every parameter's gradient, in visiting order.
struct FlattenGrads<'a>(&'a <Ad as burn::tensor::backend::AutodiffBackend>::Gradients, Vec<f64>);

impl ModuleVisitor<Ad> for FlattenGrads<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<Ad, D>>) {
        let grad = param
            .val()
            .grad(self.0)
            .expect("every critic parameter gets a gradient");
        self.1
            .extend(grad.cast(DType::F64).into_data().to_vec::<f64>().unwrap());
    }
}

/// Replaces the parameter values with `values` (visiting order), in f64.
struct Assign<'a>(&'a [f64], usize);

impl<B: Backend> ModuleMapper<B> for Assign<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, tensor, mapper) = param.consume();
        let shape = tensor.shape();
        let n = shape.num_elements();
        let data = TensorData::new(self.0[self.1..self.1 + n].to_vec(), shape);
        self.1 += n;
        Param::from_mapped_value(id, Tensor::from_data(data, (&tensor.device(), DType::F64)), mapper)
    }
}

/// One constraint under test: a penalty (its weight set so that it is 1 at the test point,
/// as large as the Wasserstein term), a drift coefficient, and spectral normalisation with
/// fixed vectors.
#[derive(Clone)]
struct Case {
    name: &'static str,
    penalty: Option<Penalty>,
    drift: f64,
    spectral: Option<SpectralNormState>,
}

/// Which term's gradient a planted bug drops.
#[derive(Clone, Copy, PartialEq)]
enum Planted {
    None,
    /// The penalty detached: what a port using `x.grad()` computes.
    PenaltyDetached,
    /// The drift term detached.
    DriftDetached,
    /// σ detached from W: the normalisation's own gradient dropped.
    SigmaDetached,
}

fn gradient_penalty(lambda: f64, center: f64, one_sided: bool) -> Penalty {
    Penalty::GradientPenalty(GradientPenalty {
        lambda,
        center,
        one_sided,
        sample_at: SamplePoint::Interpolate,
    })
}

fn zero_centered(gamma: f64, sample_at: SamplePoint) -> Penalty {
    Penalty::ZeroCentered(ZeroCentered { gamma, sample_at })
}

fn wgan_div(k: f64) -> Penalty {
    Penalty::WganDiv(WganDiv {
        k,
        p: 6.0,
        sample_at: SamplePoint::RealAndFake,
    })
}

impl Case {
    fn penalty(name: &'static str, penalty: Penalty) -> Self {
        Self {
            name,
            penalty: Some(penalty),
            drift: 0.0,
            spectral: None,
        }
    }

    /// Spectral normalisation with vectors after 3 power iterations on `critic`'s weights.
    fn spectral(name: &'static str, critic: &Critic<Ad>, penalty: Option<Penalty>) -> Self {
        let critic = cast_parameters(critic.valid(), DType::F64);
        let vectors = SpectralVectors::new(&critic, &mut ChaCha8Rng::seed_from_u64(3)).iterate(&critic, 3);
        Self {
            name,
            penalty,
            drift: 0.0,
            spectral: Some(SpectralNormState::of(&vectors)),
        }
    }

    /// The critic the loss sees: spectrally normalised with the case's fixed vectors.
    fn effective<B: Backend>(&self, critic: &Critic<B>, planted: Planted) -> Critic<B> {
        let Some(saved) = &self.spectral else {
            return critic.clone();
        };
        let vectors = SpectralVectors::from_values(critic, saved.u.clone(), saved.v.clone()).unwrap();
        if planted == Planted::SigmaDetached {
            let detached = critic.clone().no_grad();
            let sigmas = vectors.sigmas(&detached);
            let mut normalized = critic.clone();
            for (block, sigma) in normalized.blocks.iter_mut().zip(&sigmas) {
                let sigma = sigma.clone().detach().reshape([1, 1, 1, 1]);
                block.conv.weight = block.conv.weight.clone().map(|w| w.div(sigma));
            }
            let sigma = sigmas[sigmas.len() - 1].clone().detach().reshape([1, 1]);
            normalized.output.weight = normalized.output.weight.clone().map(|w| w.div(sigma));
            return normalized;
        }
        critic.spectrally_normalized(&vectors)
    }

    fn loss<B: Backend>(&self, critic: &Critic<B>, inputs: &Inputs, dtype: DType, planted: Planted) -> Tensor<B, 1> {
        let [real, fake, epsilon] = inputs.tensors::<B>(dtype);
        let critic = self.effective(critic, planted);
        let term = self.penalty.map(|penalty| PenaltyTerm::new(penalty, || epsilon));
        let parts = critic_loss(&critic, real, fake, term, self.drift).unwrap();
        match planted {
            Planted::PenaltyDetached => {
                let weight = self.penalty.unwrap().weight();
                let penalty = parts.gradient_penalty.unwrap();
                parts
                    .total
                    .sub(penalty.clone().mul_scalar(weight))
                    .add(penalty.detach().mul_scalar(weight))
            }
            Planted::DriftDetached => {
                let drift = parts.drift.unwrap().mul_scalar(self.drift);
                parts.total.sub(drift.clone()).add(drift.detach())
            }
            Planted::None | Planted::SigmaDetached => parts.total,
        }
    }
}

fn analytic_gradient(case: &Case, critic: &Critic<Ad>, inputs: &Inputs, dtype: DType, planted: Planted) -> Vec<f64> {
    let critic = cast_parameters(critic.clone(), dtype);
    let grads = case.loss(&critic, inputs, dtype, planted).backward();
    let mut visitor = FlattenGrads(&grads, Vec::new());
    critic.visit(&mut visitor);
    visitor.1
}

/// Central differences of the f64 loss with step `h`, one parameter at a time.
fn numeric_gradient(case: &Case, critic: &Critic<Ad>, inputs: &Inputs, h: f64) -> Vec<f64> {
    let base = cast_parameters(critic.valid(), DType::F64);
    let mut flat = Flatten(Vec::new());
    base.visit(&mut flat);
    let mut values = flat.0;
    let evaluate = |values: &[f64]| -> f64 {
        let critic = base.clone().map(&mut Assign(values, 0));
        // Read the f64 value itself: `into_scalar` would round it to the backend's f32.
        case.loss(&critic, inputs, DType::F64, Planted::None)
            .into_data()
            .to_vec::<f64>()
            .unwrap()[0]
    };
    (0..values.len())
        .map(|i| {
            let original = values[i];
            values[i] = original + h;
            let plus = evaluate(&values);
            values[i] = original - h;
            let minus = evaluate(&values);
            values[i] = original;
            (plus - minus) / (2.0 * h)
        })
        .collect()
}

/// `|a − b| / max(|a|, |b|, floor)`, worst over all elements, with its index.
fn worst_relative_error(a: &[f64], b: &[f64], floor: f64) -> (f64, usize) {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / x.abs().max(y.abs()).max(floor))
        .enumerate()
        .fold((0.0, 0), |worst, (i, e)| if e > worst.0 { (e, i) } else { worst })
}

/// The gradient norms at the interpolates of `inputs`, in f64, sorted.
fn interpolate_norms(critic: &Critic<Ad>, inputs: &Inputs) -> Vec<f64> {
    let critic = cast_parameters(critic.valid(), DType::F64);
    let [real, fake, epsilon] = inputs.tensors(DType::F64);
    let points = penalty_points(SamplePoint::Interpolate, real, fake, Some(epsilon));
    let norms = sample_norm(critic.input_gradient(points).unwrap());
    let mut norms = norms.into_data().to_vec::<f64>().unwrap();
    norms.sort_by(f64::total_cmp);
    norms
}

/// `penalty` with its weight scaled so that the weighted penalty is 1 at the test point.
fn normalized_weight(penalty: Penalty, critic: &Critic<Ad>, inputs: &Inputs) -> Penalty {
    let case = Case::penalty("probe", penalty);
    let critic = cast_parameters(critic.valid(), DType::F64);
    let [real, fake, epsilon] = inputs.tensors(DType::F64);
    let term = PenaltyTerm::new(penalty, || epsilon);
    let value = critic_loss(&case.effective(&critic, Planted::None), real, fake, Some(term), 0.0)
        .unwrap()
        .gradient_penalty
        .unwrap()
        .into_data()
        .to_vec::<f64>()
        .unwrap()[0];
    assert!(
        value > 0.0,
        "the penalty is zero at the test point: the test would check nothing"
    );
    let scale = 1.0 / (value * penalty.weight());
    match penalty {
        Penalty::GradientPenalty(gp) => Penalty::GradientPenalty(GradientPenalty {
            lambda: gp.lambda * scale,
            ..gp
        }),
        Penalty::ZeroCentered(zc) => zero_centered(zc.gamma * scale, zc.sample_at),
        Penalty::WganDiv(div) => Penalty::WganDiv(WganDiv {
            k: div.k * scale,
            ..div
        }),
    }
}

/// Every constraint under test on `critic` at `inputs`.
fn cases(critic: &Critic<Ad>, inputs: &Inputs) -> Vec<Case> {
    let norms = interpolate_norms(critic, inputs);
    // Between the two smallest norms: two samples above the centre, one below, so that the
    // one-sided penalty is active on some samples and inactive on another.
    let one_sided_center = 0.5 * (norms[0] + norms[1]);
    let scaled = |penalty| normalized_weight(penalty, critic, inputs);
    let mut drift = Case::penalty("drift", gradient_penalty(10.0, 1.0, false));
    drift.penalty = None;
    drift.drift = 0.5;
    vec![
        Case::penalty("gradient_penalty", gradient_penalty(10.0, 1.0, false)),
        Case::penalty("one_sided", scaled(gradient_penalty(1.0, one_sided_center, true))),
        Case::penalty("r1", scaled(zero_centered(1.0, SamplePoint::Real))),
        Case::penalty("r0", scaled(zero_centered(1.0, SamplePoint::Interpolate))),
        Case::penalty("r2", scaled(zero_centered(1.0, SamplePoint::Fake))),
        Case::penalty("wgan_div", scaled(wgan_div(1.0))),
        drift,
        Case::spectral("spectral_norm", critic, None),
        Case::spectral("spectral_norm+gp", critic, Some(gradient_penalty(10.0, 1.0, false))),
    ]
}

/// The bug planted in `case`: its own term's gradient dropped.
fn planted_bug(case: &Case) -> Planted {
    if case.spectral.is_some() {
        Planted::SigmaDetached
    } else if case.drift > 0.0 {
        Planted::DriftDetached
    } else {
        Planted::PenaltyDetached
    }
}

#[test]
fn every_constraint_gradient_matches_finite_differences_in_f64_and_catches_its_planted_bug() {
    let inputs = Inputs::draw(5);
    for conv_bias in [false, true] {
        let critic = small_critic(11, conv_bias);
        assert_eq!(critic.num_params(), if conv_bias { 1_193 } else { 1_179 });
        let all = cases(&critic, &inputs);
        // Every case with a bias, the first alone without (the rest do not touch biases).
        let selected: Vec<&Case> = if conv_bias {
            all.iter().take(1).collect()
        } else {
            all.iter().collect()
        };
        for case in selected {
            let analytic = analytic_gradient(case, &critic, &inputs, DType::F64, Planted::None);
            let numeric = numeric_gradient(case, &critic, &inputs, 1e-6);
            assert_eq!(analytic.len(), critic.num_params());
            // Relative error with a floor of 1e-6: the f64 central difference itself is only
            // resolved to about 1e-9 absolute (rounding of a loss of order 10 over 2h = 2e-6).
            let (error, index) = worst_relative_error(&analytic, &numeric, 1e-6);
            let planted = analytic_gradient(case, &critic, &inputs, DType::F64, planted_bug(case));
            let (planted_error, _) = worst_relative_error(&planted, &numeric, 1e-6);
            println!(
                "{} (conv_bias={conv_bias}): {} parameters, worst relative error {error:.3e} \
                 (analytic {:.6e}, numeric {:.6e}); with its planted bug {planted_error:.3e}",
                case.name,
                analytic.len(),
                analytic[index],
                numeric[index]
            );
            assert!(
                error < 1e-4,
                "{}: parameter {index}: analytic {} vs numeric {}",
                case.name,
                analytic[index],
                numeric[index]
            );
            assert!(
                planted_error > 1e-2,
                "{}: the planted bug must be detected, worst error only {planted_error:e}",
                case.name
            );
        }
    }
}

#[test]
fn the_one_sided_penalty_ignores_gradients_below_its_centre() {
    let critic = small_critic(11, false);
    let inputs = Inputs::draw(5);
    let norms = interpolate_norms(&critic, &inputs);
    let value = |center: f64, one_sided: bool| {
        let critic = cast_parameters(critic.valid(), DType::F64);
        let [real, fake, epsilon] = inputs.tensors(DType::F64);
        let term = PenaltyTerm::new(gradient_penalty(1.0, center, one_sided), || epsilon);
        let parts = critic_loss(&critic, real, fake, Some(term), 0.0).unwrap();
        parts.gradient_penalty.unwrap().into_data().to_vec::<f64>().unwrap()[0]
    };
    let above_all = norms[norms.len() - 1] + 1.0;
    assert_eq!(value(above_all, true), 0.0);
    let two_sided: f64 = norms.iter().map(|n| (n - above_all).powi(2)).sum::<f64>() / norms.len() as f64;
    assert!((value(above_all, false) - two_sided).abs() < 1e-9 * two_sided);
    let below_all = norms[0] / 2.0;
    assert!((value(below_all, true) - value(below_all, false)).abs() < 1e-12);
}

#[test]
fn seed_constraint_is_the_first_case() {
    assert_eq!(
        LipschitzConstraint::SEED_WGAN_GP.penalty(),
        Some(gradient_penalty(10.0, 1.0, false))
    );
}

#[test]
fn f32_gradient_agrees_with_f64() {
    let critic = small_critic(11, false);
    let inputs = Inputs::draw(5);
    let case = Case::penalty("gradient_penalty", gradient_penalty(10.0, 1.0, false));
    let exact = analytic_gradient(&case, &critic, &inputs, DType::F64, Planted::None);
    let single = analytic_gradient(&case, &critic, &inputs, DType::F32, Planted::None);
    let scale = exact.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    let (error, index) = worst_relative_error(&single, &exact, 1e-3 * scale);
    println!("f32 vs f64: worst relative error {error:.3e}");
    assert!(
        error < 1e-3,
        "parameter {index}: f32 {} vs f64 {}",
        single[index],
        exact[index]
    );
}
