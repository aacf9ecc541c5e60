//! G_ema: the update rule, BatchNorm statistics kept apart from G's, recomputed statistics,
//! checkpoints and bit-identical resume.

mod common;

use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::tensor::TensorData;
use common::{distinct_images, named_tensors, new_run, snapshot, tensors, trained_run};
use wgan_model::{Generator, Variant};
use wgan_train::{
    EMA_FILE, EmaBatchNorm, EmaConfig, Run, RunConfig, RunDir, Silent, Weights, blend_generator, detached_copy,
    list_checkpoints, load_generator, recompute_batch_norm, sample,
};

type Ad = Autodiff<Flex>;
const HALF: u64 = 4;

fn config(steps: u64, batch_norm: EmaBatchNorm) -> RunConfig {
    let mut config = common::small_config(Variant::WganGp, 5, 4, 8, 8);
    config.schedule.steps = steps;
    config.schedule.checkpoint_interval = HALF;
    config.schedule.sample_interval = HALF;
    config.schedule.keep_checkpoints = 4;
    config.ema = Some(EmaConfig {
        decay: 0.9,
        ramp_up: 0.0,
        batch_norm,
        batch_norm_batches: 3,
        ..EmaConfig::default()
    });
    config
}

fn values(data: &TensorData) -> Vec<f32> {
    data.to_vec::<f32>().unwrap()
}

#[test]
fn the_update_blends_weights_and_copies_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut run) = new_run::<Ad>(config(2, EmaBatchNorm::Copy), dir.path(), "run");
    let before = detached_copy(run.engine().generator());
    run.engine_mut().train_step().unwrap();
    let raw = detached_copy(run.engine().generator());
    let ema = run.engine().state().generator_ema.clone().unwrap();
    // β = 0.9: every weight is 0.9·before + 0.1·after; running statistics are G's.
    let statistics = ["running_mean", "running_var"];
    let names = names(&raw);
    for (((name, b), r), e) in names.iter().zip(tensors(&before)).zip(tensors(&raw)).zip(tensors(&ema)) {
        let (b, r, e) = (values(&b), values(&r), values(&e));
        for i in 0..b.len() {
            let expected = if statistics.iter().any(|s| name.ends_with(s)) {
                r[i]
            } else {
                0.9 * b[i] + 0.1 * r[i]
            };
            assert!(
                (e[i] - expected).abs() <= 1e-6 * (1.0 + expected.abs()),
                "{name}[{i}]: {} vs {expected}",
                e[i]
            );
        }
    }
    // β = 0 copies; β = 1 keeps the weights.
    assert_eq!(tensors(&blend_generator(ema.clone(), &raw, 0.0)), tensors(&raw));
    let kept = blend_generator(ema.clone(), &raw, 1.0);
    assert_eq!(tensors(&kept), tensors(&blend_generator(kept.clone(), &raw, 1.0)));
}

/// Dotted names of a generator's float tensors, in visiting order.
fn names<B: burn::tensor::backend::Backend>(generator: &Generator<B>) -> Vec<String> {
    let names: Vec<String> = named_tensors("", generator).into_iter().map(|(name, _)| name).collect();
    assert!(names.iter().any(|n| n.ends_with("running_var")), "{names:?}");
    names
}

#[test]
fn recomputed_statistics_are_the_mean_batch_statistics_and_touch_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut run) = new_run::<Ad>(config(2, EmaBatchNorm::Recompute), dir.path(), "run");
    run.engine_mut().train_step().unwrap();
    let stored = run.engine().state().generator_ema.clone().unwrap();
    let raw_before = tensors(&run.engine().generator().valid());
    let stored_before = tensors(&stored);
    let device = Default::default();
    let one = recompute_batch_norm::<Ad>(&stored, 5, 1, 8, &device);
    let three = recompute_batch_norm::<Ad>(&stored, 5, 3, 8, &device);
    // Neither G's nor the stored average's statistics moved (running statistics are shared
    // between clones of one module in burn; the recompute must work on its own copy).
    assert_eq!(tensors(&run.engine().generator().valid()), raw_before);
    assert_eq!(tensors(&stored), stored_before);
    // Weights unchanged, statistics changed, and a function of the inputs only.
    let names = names(&stored);
    let is_statistic = |name: &str| name.ends_with("running_mean") || name.ends_with("running_var");
    for ((name, s), t) in names.iter().zip(&stored_before).zip(tensors(&three)) {
        if is_statistic(name) {
            assert_ne!(values(s), values(&t), "{name}");
        } else {
            assert_eq!(values(s), values(&t), "{name}");
        }
    }
    assert_eq!(
        tensors(&three),
        tensors(&recompute_batch_norm::<Ad>(&stored, 5, 3, 8, &device))
    );
    assert_ne!(tensors(&one), tensors(&three));
    // The first layer's mean over three batches is the mean of three one-batch means: the
    // projection's statistics do not depend on earlier layers.
    let batch_means: Vec<Vec<f32>> = (0..3)
        .map(|b| {
            let mut noise = wgan_train::NoiseSource::new(5, wgan_train::Stream::BatchNormNoise);
            let z: Vec<f32> = (0..=b).map(|_| noise.normal_values(8, 8)).last().unwrap();
            let training: Generator<Ad> = Generator::from_inner(stored.clone());
            let z: burn::Tensor<Ad, 2> = burn::Tensor::from_data(TensorData::new(z, [8, 8]), &device);
            let x = training.project.forward(z);
            x.mean_dim(0).into_data().to_vec::<f32>().unwrap()
        })
        .collect();
    let mean_position = names.iter().position(|n| n == "project_norm.running_mean").unwrap();
    let recomputed = values(&tensors(&three)[mean_position]);
    for (unit, value) in recomputed.iter().enumerate() {
        let expected = batch_means.iter().map(|m| m[unit]).sum::<f32>() / 3.0;
        assert!((value - expected).abs() < 1e-5, "unit {unit}: {value} vs {expected}");
    }
}

#[test]
fn runs_with_ema_resume_bit_identically_and_sample_from_g_ema() {
    let dir = tempfile::tempdir().unwrap();
    let (straight_dir, straight) = trained_run::<Ad>(config(2 * HALF, EmaBatchNorm::Recompute), dir.path(), "straight");
    let (split_dir, first) = trained_run::<Ad>(config(HALF, EmaBatchNorm::Recompute), dir.path(), "split");
    drop(first);
    let mut second = Run::<Ad>::resume(
        config(2 * HALF, EmaBatchNorm::Recompute),
        distinct_images(),
        split_dir.clone(),
        Default::default(),
    )
    .unwrap()
    .run;
    second.run(&mut Silent).unwrap();

    let stored = |run: &Run<Ad>| tensors(run.engine().state().generator_ema.as_ref().unwrap());
    assert_eq!(stored(&straight), stored(&second), "G_ema differs after resume");
    // Every checkpoint holds the same generators, G_ema's included, bit for bit (the files
    // differ only in burn's random parameter ids).
    let device = Default::default();
    for (step, path) in list_checkpoints(&straight_dir.checkpoints_dir()) {
        let other = split_dir.checkpoints_dir().join(path.file_name().unwrap());
        assert!(path.join(EMA_FILE).is_file(), "step {step}");
        for weights in [Weights::Raw, Weights::Ema, Weights::EmaRawBatchNorm] {
            let [a, b] =
                [&path, &other].map(|dir| tensors(&load_generator::<Flex>(dir, weights, &device).unwrap().generator));
            assert_eq!(a, b, "step {step}: {weights:?}");
        }
    }
    assert!(straight_dir.ema_sample_grid(2 * HALF).is_file());

    // Sampling picks G_ema by default; raw weights on request give other images.
    let auto = load_generator::<Flex>(straight_dir.root(), Weights::Auto, &device).unwrap();
    let raw = load_generator::<Flex>(straight_dir.root(), Weights::Raw, &device).unwrap();
    assert_eq!(auto.weights, Weights::Ema);
    let images = |generator: &Generator<Flex>| sample(generator, 8, 4, 0, &device).unwrap().1;
    assert_ne!(images(&auto.generator), images(&raw.generator));
    let copied = load_generator::<Flex>(straight_dir.root(), Weights::EmaRawBatchNorm, &device).unwrap();
    assert_ne!(images(&auto.generator), images(&copied.generator));
}

#[test]
fn checkpoints_without_g_ema_refuse_ema_weights() {
    let mut config = config(2, EmaBatchNorm::Copy);
    config.ema = None;
    let dir = tempfile::tempdir().unwrap();
    let (run_dir, _) = trained_run::<Ad>(config, dir.path(), "run");
    let device = Default::default();
    let auto = load_generator::<Flex>(run_dir.root(), Weights::Auto, &device).unwrap();
    assert_eq!(auto.weights, Weights::Raw);
    let err = load_generator::<Flex>(run_dir.root(), Weights::Ema, &device)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("no G_ema"), "{err}");
}

#[test]
fn keeping_g_ema_leaves_the_trained_networks_untouched() {
    // G_ema's recomputed statistics draw their own noise and clone G's weights: a run with
    // `[ema]` trains G and D exactly as one without, so raw numbers stay comparable.
    let dir = tempfile::tempdir().unwrap();
    let (with_dir, with) = trained_run::<Ad>(config(2 * HALF, EmaBatchNorm::Recompute), dir.path(), "with");
    let mut plain = config(2 * HALF, EmaBatchNorm::Recompute);
    plain.ema = None;
    let (without_dir, without) = trained_run::<Ad>(plain, dir.path(), "without");
    let (a, b) = (snapshot(with.engine()), snapshot(without.engine()));
    assert_eq!(a.0, b.0, "generators differ");
    assert_eq!(a.1, b.1, "critics differ");
    let newest = |run_dir: &RunDir| list_checkpoints(&run_dir.checkpoints_dir()).pop().unwrap().1;
    assert!(newest(&with_dir).join(EMA_FILE).is_file());
    assert!(!newest(&without_dir).join(EMA_FILE).is_file());
}
