//! The gradient penalty's critic-parameter gradient is exact.
//!
//! burn's autodiff is first-order, so a penalty built from `x.grad()` silently contributes
//! zero gradient. These tests compare the autodiff gradient of the full WGAN-GP critic loss,
//! `mean D(fake) − mean D(real) + λ·GP`, against central finite differences in f64 for every
//! parameter of a small critic on 32×32 inputs, and check that f32 agrees with f64.

use burn::backend::{Autodiff, Flex};
use burn::module::{AutodiffModule, Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{DType, Tensor, TensorData, backend::Backend};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wgan_model::{Critic, ModelConfig, Variant, cast_parameters};
use wgan_train::critic_loss;

type Ad = Autodiff<Flex>;
const LAMBDA: f64 = 10.0;
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

fn loss<B: Backend>(critic: &Critic<B>, inputs: &Inputs, dtype: DType) -> Tensor<B, 1> {
    let [real, fake, epsilon] = inputs.tensors::<B>(dtype);
    critic_loss(critic, real, fake, Some((epsilon, LAMBDA))).unwrap().total
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

fn analytic_gradient(critic: &Critic<Ad>, inputs: &Inputs, dtype: DType) -> Vec<f64> {
    let critic = cast_parameters(critic.clone(), dtype);
    let grads = loss(&critic, inputs, dtype).backward();
    let mut visitor = FlattenGrads(&grads, Vec::new());
    critic.visit(&mut visitor);
    visitor.1
}

/// Central differences of the f64 loss with step `h`, one parameter at a time.
fn numeric_gradient(critic: &Critic<Ad>, inputs: &Inputs, h: f64) -> Vec<f64> {
    let base = cast_parameters(critic.valid(), DType::F64);
    let mut flat = Flatten(Vec::new());
    base.visit(&mut flat);
    let mut values = flat.0;
    let evaluate = |values: &[f64]| -> f64 {
        let critic = base.clone().map(&mut Assign(values, 0));
        // Read the f64 value itself: `into_scalar` would round it to the backend's f32.
        loss(&critic, inputs, DType::F64).into_data().to_vec::<f64>().unwrap()[0]
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

#[test]
fn gradient_penalty_gradient_matches_finite_differences_in_f64() {
    for conv_bias in [false, true] {
        let critic = small_critic(11, conv_bias);
        assert_eq!(critic.num_params(), if conv_bias { 1_193 } else { 1_179 });
        let inputs = Inputs::draw(5);
        let analytic = analytic_gradient(&critic, &inputs, DType::F64);
        let numeric = numeric_gradient(&critic, &inputs, 1e-6);
        assert_eq!(analytic.len(), critic.num_params());
        // Relative error with a floor of 1e-6: the f64 central difference itself is only
        // resolved to about 1e-9 absolute (rounding of a loss of order 10 over 2h = 2e-6).
        let (error, index) = worst_relative_error(&analytic, &numeric, 1e-6);
        let max_abs = analytic
            .iter()
            .zip(&numeric)
            .map(|(a, n)| (a - n).abs())
            .fold(0.0, f64::max);
        println!(
            "conv_bias={conv_bias}: {} parameters, worst relative error {error:.3e} \
             (analytic {:.6e}, numeric {:.6e}), worst absolute error {max_abs:.3e}",
            analytic.len(),
            analytic[index],
            numeric[index]
        );
        assert!(
            error < 1e-4,
            "parameter {index}: analytic {} vs numeric {}",
            analytic[index],
            numeric[index]
        );
    }
}

/// The same check catches a penalty whose parameter gradient is dropped: without the GP's
/// contribution, the autodiff gradient differs from the finite differences of the full loss.
#[test]
fn dropping_the_penalty_gradient_would_be_caught() {
    let critic = small_critic(11, false);
    let inputs = Inputs::draw(5);
    let numeric = numeric_gradient(&critic, &inputs, 1e-6);
    // Gradient of the loss with the penalty detached: what a naive port computes.
    let f64_critic = cast_parameters(critic.clone(), DType::F64);
    let [real, fake, epsilon] = inputs.tensors::<Ad>(DType::F64);
    let parts = critic_loss(&f64_critic, real, fake, Some((epsilon, LAMBDA))).unwrap();
    let penalty = parts.gradient_penalty.unwrap().detach().mul_scalar(LAMBDA);
    let grads = parts.wasserstein.neg().add(penalty).backward();
    let mut visitor = FlattenGrads(&grads, Vec::new());
    f64_critic.visit(&mut visitor);
    let (error, _) = worst_relative_error(&visitor.1, &numeric, 1e-6);
    assert!(
        error > 1e-2,
        "a detached penalty must be detected, worst error only {error:e}"
    );
}

#[test]
fn f32_gradient_agrees_with_f64() {
    let critic = small_critic(11, false);
    let inputs = Inputs::draw(5);
    let exact = analytic_gradient(&critic, &inputs, DType::F64);
    let single = analytic_gradient(&critic, &inputs, DType::F32);
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
