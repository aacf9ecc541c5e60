//! Parameter counts, shapes and the explicit input gradient of the seed's networks.

use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::module::Module;
use burn::tensor::{DType, Distribution, Tensor, backend::Backend};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use wgan_model::{Critic, Generator, ModelConfig, ModelError, Variant, cast_parameters};

type Cpu = Flex;

fn rng() -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(7)
}
type Ad = Autodiff<Flex>;

/// Trainable parameters of the seed's Keras models (`model.count_params()` minus the
/// BatchNorm moving statistics).
#[test]
fn parameter_counts_match_the_seed() {
    let device = Default::default();
    let expected = [
        (Variant::Wgan, 128, 5_173_505, 4_109_825),
        (Variant::WganGp, 128, 5_996_289, 4_107_393),
        (Variant::Wgan, 64, 1_562_753, 1_030_913),
        (Variant::WganGp, 64, 1_769_345, 1_029_697),
    ];
    for (variant, dim, generator_params, critic_params) in expected {
        let config = ModelConfig::preset(variant, dim);
        let generator = Generator::<Cpu>::new(&config, &mut rng(), &device).unwrap();
        let critic = Critic::<Cpu>::new(&config, &mut rng(), &device).unwrap();
        assert_eq!(
            generator.summary().trainable_params,
            generator_params,
            "{variant:?} DIM {dim} generator"
        );
        assert_eq!(
            critic.summary().trainable_params,
            critic_params,
            "{variant:?} DIM {dim} critic"
        );
        // burn also counts BatchNorm's running mean and variance: two per normalised feature.
        let running = |s: &wgan_model::NetworkSummary| -> usize {
            s.layers
                .iter()
                .filter(|l| l.layer == "batch norm")
                .map(|l| l.trainable_params)
                .sum()
        };
        assert_eq!(generator.num_params(), generator_params + running(&generator.summary()));
        assert_eq!(critic.num_params(), critic_params + running(&critic.summary()));
    }
}

#[test]
fn summary_lists_the_seed_layers_with_output_shapes() {
    let device = Default::default();
    let config = ModelConfig::preset(Variant::Wgan, 16);
    let generator = Generator::<Cpu>::new(&config, &mut rng(), &device).unwrap().summary();
    let shapes: Vec<_> = generator.layers.iter().map(|l| l.output_shape.clone()).collect();
    assert_eq!(shapes.first(), Some(&vec![4 * 4 * 64]));
    assert!(shapes.contains(&vec![32, 8, 8]));
    assert!(shapes.contains(&vec![16, 16, 16]));
    assert_eq!(shapes.last(), Some(&vec![1, 32, 32]));
    let critic = Critic::<Cpu>::new(&config, &mut rng(), &device).unwrap().summary();
    let norms = critic.layers.iter().filter(|l| l.layer == "batch norm").count();
    assert_eq!(norms, 2, "WGAN critic normalises after its 2nd and 3rd conv");
    assert_eq!(critic.layers.last().unwrap().output_shape, vec![1]);
}

#[test]
fn forward_shapes_and_ranges() {
    let device = Default::default();
    for variant in [Variant::Wgan, Variant::WganGp] {
        let config = ModelConfig::preset(variant, 8);
        let generator = Generator::<Ad>::new(&config, &mut rng(), &device).unwrap();
        let critic = Critic::<Ad>::new(&config, &mut rng(), &device).unwrap();
        let noise = Tensor::<Ad, 2>::random([5, 128], Distribution::Normal(0.0, 1.0), &device);
        let images = generator.forward(noise);
        assert_eq!(images.dims(), [5, 1, 32, 32]);
        let max_abs = images.clone().abs().max().into_scalar();
        assert!(max_abs <= 1.0, "tanh output out of range: {max_abs}");
        assert_eq!(critic.forward(images).dims(), [5, 1]);
    }
}

#[test]
fn wrong_input_shapes_are_errors_not_panics() {
    let device = Default::default();
    let config = ModelConfig::preset(Variant::WganGp, 4);
    let generator = Generator::<Cpu>::new(&config, &mut rng(), &device).unwrap();
    let critic = Critic::<Cpu>::new(&config, &mut rng(), &device).unwrap();
    let err = generator.try_forward(Tensor::zeros([2, 7], &device)).unwrap_err();
    assert!(
        matches!(
            err,
            ModelError::InputShape {
                network: "generator",
                ..
            }
        ),
        "{err}"
    );
    let err = critic.try_forward(Tensor::zeros([2, 1, 28, 28], &device)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "critic expects input of shape [0, 1, 32, 32], got [2, 1, 28, 28]"
    );
}

#[test]
fn input_gradient_is_refused_with_batch_norm() {
    let device = Default::default();
    let critic = Critic::<Cpu>::new(&ModelConfig::preset(Variant::Wgan, 4), &mut rng(), &device).unwrap();
    let err = critic
        .input_gradient(Tensor::zeros([2, 1, 32, 32], &device))
        .unwrap_err();
    assert_eq!(err, ModelError::InputGradientWithBatchNorm);
}

/// Max |a - b| over all elements.
fn max_abs_diff<B: Backend>(a: Tensor<B, 4>, b: Tensor<B, 4>) -> f64 {
    a.sub(b)
        .abs()
        .max()
        .into_data()
        .convert::<f64>()
        .to_vec::<f64>()
        .unwrap()[0]
}

/// (a) The explicit input gradient equals autodiff's first-order `x.grad`, with and without
/// conv biases, in f64 and f32.
#[test]
fn input_gradient_equals_autodiff_input_gradient() {
    let device = Default::default();
    for (dtype, tolerance) in [(DType::F64, 1e-12), (DType::F32, 1e-6)] {
        for conv_bias in [false, true] {
            let mut config = ModelConfig::preset(Variant::WganGp, 4);
            config.critic_conv_bias = conv_bias;
            let critic = cast_parameters(Critic::<Ad>::new(&config, &mut rng(), &device).unwrap(), dtype);
            let images = Tensor::<Ad, 4>::random([3, 1, 32, 32], Distribution::Uniform(-1.0, 1.0), &device)
                .cast(dtype)
                .require_grad();
            let grads = critic.forward(images.clone()).sum().backward();
            let autodiff = images.grad(&grads).expect("images require grad");
            let explicit = critic.valid().input_gradient(images.inner()).unwrap();
            let scale = max_abs_diff(autodiff.clone(), autodiff.zeros_like());
            let diff = max_abs_diff(explicit, autodiff);
            assert!(scale > 1e-4, "degenerate gradient");
            assert!(
                diff <= tolerance,
                "{dtype:?} bias={conv_bias}: max |explicit - autodiff| = {diff:e}"
            );
        }
    }
}

/// The forward FLOPs per sample, by hand at DIM 64 (`2·in·out` per dense layer,
/// `2·C_in·C_out·25·H·W` per 5×5 convolution).
#[test]
fn forward_flops_count_every_matrix_product() {
    let device = Default::default();
    let critic: u64 = 2 * 64 * 25 * 16 * 16 + 2 * 64 * 128 * 25 * 8 * 8 + 2 * 128 * 256 * 25 * 4 * 4 + 2 * 4096;
    let generator_gp: u64 =
        2 * 128 * 4096 + 2 * 256 * 128 * 25 * 8 * 8 + 2 * 128 * 128 * 25 * 16 * 16 + 2 * 128 * 25 * 32 * 32;
    let generator: u64 =
        2 * 128 * 4096 + 2 * 256 * 128 * 25 * 8 * 8 + 2 * 128 * 64 * 25 * 16 * 16 + 2 * 64 * 25 * 32 * 32;
    for (variant, generator_flops) in [(Variant::WganGp, generator_gp), (Variant::Wgan, generator)] {
        let config = ModelConfig::preset(variant, 64);
        let summary = Generator::<Cpu>::new(&config, &mut rng(), &device).unwrap().summary();
        assert_eq!(summary.forward_flops, generator_flops, "{variant:?} generator");
        let summary = Critic::<Cpu>::new(&config, &mut rng(), &device).unwrap().summary();
        assert_eq!(summary.forward_flops, critic, "{variant:?} critic");
    }
    assert_eq!(generator_gp, 322_174_976);
}
