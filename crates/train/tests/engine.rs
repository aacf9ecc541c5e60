//! The training loop: each step updates only its own network, clipping holds, and a small
//! WGAN-GP provably learns a fixed family of images.

mod common;

use burn::backend::{Autodiff, Flex};
use burn::tensor::{Tensor, TensorData};
use wgan_data::{ImageSet, Pixels};
use wgan_model::{Critic, Generator, Variant};
use wgan_train::{Engine, LipschitzConstraint, OptimizerConfig, Run, RunConfig, RunDir, Silent};

type Ad = Autodiff<Flex>;

/// 16×16 images of a 6×6 white square on black, at one of four positions.
fn squares(copies: usize) -> (ImageSet, Vec<Vec<f32>>) {
    let size = 16;
    let family: Vec<Vec<f32>> = [(1, 1), (1, 9), (9, 1), (9, 9)]
        .iter()
        .map(|&(top, left)| {
            (0..size * size)
                .map(|p| {
                    let (y, x) = (p / size, p % size);
                    if (top..top + 6).contains(&y) && (left..left + 6).contains(&x) {
                        1.0
                    } else {
                        -1.0
                    }
                })
                .collect()
        })
        .collect();
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for i in 0..copies {
        pixels.extend_from_slice(&family[i % 4]);
        labels.push((i % 4) as u32);
    }
    (ImageSet::new(Pixels::Unit(pixels), labels, 1, size).unwrap(), family)
}

/// A tiny config for 16×16 images.
fn tiny_config(variant: Variant) -> RunConfig {
    common::small_config(variant, 3, 8, 16, 16)
}

/// An engine on 64 squares: no run directory.
fn new_engine(config: RunConfig) -> Engine<Ad> {
    let (data, _) = squares(64);
    Engine::new(config, data, Default::default()).unwrap()
}

/// A run on 64 squares in a temporary run directory.
fn run(config: RunConfig) -> (Run<Ad>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = RunDir::create(dir.path().join("run")).unwrap();
    let (data, _) = squares(64);
    (Run::create(config, data, run_dir, Default::default()).unwrap(), dir)
}

/// Trainable tensors only (BatchNorm running statistics excluded), in a fixed order.
fn generator_weights(generator: &Generator<Ad>) -> Vec<TensorData> {
    let mut out = vec![
        generator.project.weight.val().into_data(),
        generator.project_norm.gamma.val().into_data(),
    ];
    for block in &generator.blocks {
        out.push(block.conv.weight.val().into_data());
        out.push(block.norm.beta.val().into_data());
    }
    out.push(generator.output.weight.val().into_data());
    out
}

fn critic_weights(critic: &Critic<Ad>) -> Vec<TensorData> {
    let mut out: Vec<TensorData> = critic.blocks.iter().map(|b| b.conv.weight.val().into_data()).collect();
    out.push(critic.output.weight.val().into_data());
    out
}

#[test]
fn each_step_updates_only_its_own_network() {
    for variant in [Variant::Wgan, Variant::WganGp] {
        let mut engine = new_engine(tiny_config(variant));
        let (generator, critic) = (generator_weights(engine.generator()), critic_weights(engine.critic()));
        engine.critic_step().unwrap();
        assert_eq!(
            generator_weights(engine.generator()),
            generator,
            "{variant:?}: critic step moved the generator"
        );
        let critic_after = critic_weights(engine.critic());
        assert!(
            critic_after.iter().zip(&critic).all(|(a, b)| a != b),
            "{variant:?}: critic step left a layer unchanged"
        );
        engine.generator_step().unwrap();
        assert_eq!(
            critic_weights(engine.critic()),
            critic_after,
            "{variant:?}: generator step moved the critic"
        );
        let generator_after = generator_weights(engine.generator());
        assert!(
            generator_after.iter().zip(&generator).all(|(a, b)| a != b),
            "{variant:?}: generator step left a layer unchanged"
        );
    }
}

#[test]
fn weight_clipping_bounds_every_critic_parameter() {
    let mut config = tiny_config(Variant::Wgan);
    // A large step so that, unclipped, parameters would leave the interval.
    config.optimizer.critic = OptimizerConfig::RmsProp {
        learning_rate: 0.05,
        alpha: 0.9,
        epsilon: 1e-7,
    };
    let clip = 0.01f32;
    config.lipschitz = LipschitzConstraint::WeightClip {
        clip_value: f64::from(clip),
    };
    let mut engine = new_engine(config);
    let largest = |critic: &Critic<Ad>| {
        let mut largest = 0.0f32;
        for tensor in critic_weights(critic) {
            largest = tensor
                .to_vec::<f32>()
                .unwrap()
                .iter()
                .fold(largest, |m, v| m.max(v.abs()));
        }
        largest
    };
    assert!(largest(engine.critic()) > clip, "initial weights exceed the clip value");
    for _ in 0..3 {
        engine.critic_step().unwrap();
        let biases = engine
            .critic()
            .blocks
            .iter()
            .filter_map(|b| b.conv.bias.as_ref())
            .map(|b| b.val());
        let bias_max = biases.fold(0.0f32, |m, b| m.max(b.abs().max().into_scalar()));
        assert!(largest(engine.critic()) <= clip, "weights outside [-c, c]");
        assert!(bias_max <= clip, "biases outside [-c, c]");
        let gamma = engine.critic().blocks[1]
            .norm
            .as_ref()
            .unwrap()
            .gamma
            .val()
            .abs()
            .max()
            .into_scalar();
        assert!(gamma <= clip, "BatchNorm γ is a parameter and is clipped too");
    }
}

/// Root-mean-square distance from each generated image to the nearest family member, and
/// how many family members are nearest to at least one sample.
fn nearest_member_distance(samples: &[f32], family: &[Vec<f32>]) -> (f64, usize) {
    let len = family[0].len();
    let mut covered = vec![false; family.len()];
    let mut total = 0.0;
    let count = samples.len() / len;
    for sample in samples.chunks_exact(len) {
        let (index, distance) = family
            .iter()
            .map(|member| {
                let sq: f64 = member.iter().zip(sample).map(|(a, b)| f64::from(a - b).powi(2)).sum();
                (sq / len as f64).sqrt()
            })
            .enumerate()
            .fold(
                (0, f64::INFINITY),
                |best, (i, d)| if d < best.1 { (i, d) } else { best },
            );
        covered[index] = true;
        total += distance;
    }
    (total / count as f64, covered.iter().filter(|c| **c).count())
}

fn sample_distance(run: &Run<Ad>, family: &[Vec<f32>]) -> (f64, usize) {
    let samples: Tensor<Flex, 4> = run.engine().samples(run.fixed_noise());
    nearest_member_distance(&samples.into_data().to_vec::<f32>().unwrap(), family)
}

#[test]
fn wgan_gp_learns_a_family_of_squares() {
    let mut config = tiny_config(Variant::WganGp);
    let adam = OptimizerConfig::Adam {
        learning_rate: 1e-3,
        beta1: 0.5,
        beta2: 0.9,
        epsilon: 1e-7,
    };
    config.optimizer.critic = adam;
    config.optimizer.generator = adam;
    config.schedule.steps = 300;
    config.schedule.sample_interval = 1000;
    let (mut run, _dir) = run(config);
    let (_, family) = squares(4);
    let (before, _) = sample_distance(&run, &family);
    run.run(&mut Silent).unwrap();
    let (after, covered) = sample_distance(&run, &family);
    println!(
        "nearest-square RMS distance: {before:.3} before, {after:.3} after 300 steps; {covered}/4 squares generated"
    );
    assert!(
        after < 0.5 * before,
        "distance fell only from {before:.3} to {after:.3}"
    );
    assert!(covered >= 3, "mode collapse: only {covered} of 4 squares generated");
}

#[test]
fn data_of_another_size_than_the_model_is_a_user_error() {
    let mut config = tiny_config(Variant::WganGp);
    config.model.image_size = 32;
    let (data, _) = squares(64);
    let err = Engine::<Ad>::new(config, data, Default::default())
        .err()
        .expect("16×16 images for a 32×32 model");
    assert!(err.is_user_error(), "{err}");
    assert!(
        err.to_string().contains("are 1×16×16") && err.to_string().contains("takes 1×32×32"),
        "{err}"
    );
}
