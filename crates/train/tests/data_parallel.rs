//! Data-parallel training on the CPU: two replicas with half a batch each train exactly as
//! one engine with the whole batch (to rounding), for WGAN-GP and for WGAN, whose critic and
//! generator both have BatchNorm (synchronised). burn-collective's peers are threads on the
//! one CPU device, as in its own tests.

mod common;

use std::sync::Mutex;

use burn::backend::{Autodiff, Flex};
use burn::tensor::TensorData;
use common::{
    bias_before_batch_norm, distinct_images, metric_pairs, named_tensors, small_config, with_visible_updates,
};
use wgan_model::Variant;
use wgan_train::{Engine, RunConfig, TrainStepMetrics, start_replicas};

type B = Autodiff<Flex>;

/// burn-collective keeps one local server per backend in the process: one data-parallel
/// test at a time.
static COLLECTIVE: Mutex<()> = Mutex::new(());

const STEPS: usize = 3;

fn config(variant: Variant) -> RunConfig {
    let mut config = with_visible_updates(small_config(variant, 11, 4, 8, 8));
    config.schedule.n_critic = 2;
    config
}

/// Trains `config` for [`STEPS`] steps on `replicas` CPU replicas; returns the metrics and
/// replica 0's generator and critic tensors by name.
fn train(config: &RunConfig, replicas: usize) -> (Vec<TrainStepMetrics>, Vec<(String, TensorData)>) {
    let mut config = config.clone();
    config.distributed.replicas = replicas;
    let mut engine = Engine::<B>::new(config, distinct_images(), Default::default()).unwrap();
    let followers = (replicas > 1).then(|| {
        let devices: Vec<_> = (0..replicas).map(|_| (Default::default(), "cpu".to_string())).collect();
        start_replicas(&mut engine, &devices, None).unwrap()
    });
    let metrics = (0..STEPS).map(|_| engine.train_step().unwrap()).collect();
    let mut tensors = named_tensors("generator", engine.generator());
    tensors.extend(named_tensors("critic", engine.critic()));
    drop(engine);
    if let Some(followers) = followers {
        followers.threads.join().unwrap();
    }
    (metrics, tensors)
}

/// Two replicas against one: every logged value and every tensor agree to rounding
/// (relative to the tensor's scale), and training moved most tensors by far more. Biases
/// that feed a BatchNorm are left out: their exact gradient is zero, so their updates are
/// rounding noise.
fn two_replicas_match_one(variant: Variant) {
    let _one_at_a_time = COLLECTIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let config = config(variant);
    let initial = {
        let engine = Engine::<B>::new(config.clone(), distinct_images(), Default::default()).unwrap();
        let mut tensors = named_tensors("generator", engine.generator());
        tensors.extend(named_tensors("critic", engine.critic()));
        tensors
    };
    let (one_metrics, one) = train(&config, 1);
    let (two_metrics, two) = train(&config, 2);

    for (step, (a, b)) in one_metrics.iter().zip(&two_metrics).enumerate() {
        for (what, x, y) in metric_pairs(a, b) {
            assert!(
                (x - y).abs() <= 1e-5 * (1.0 + x.abs()),
                "step {step} {what}: {x} vs {y}"
            );
        }
    }
    let names: Vec<String> = one.iter().map(|(name, _)| name.clone()).collect();
    let mut moved = 0;
    for (((name, a), (_, b)), (_, start)) in one.iter().zip(&two).zip(&initial) {
        if bias_before_batch_norm(name, &names) {
            continue;
        }
        let [a, b, start] = [a, b, start].map(|t| t.to_vec::<f32>().unwrap());
        // Scales below 0.01 (clipped weights, running means of a few hundredths) are taken as
        // 0.01: their differences come from biases whose updates are rounding noise.
        let scale = a.iter().fold(1e-2f32, |m, v| m.max(v.abs()));
        let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        let update = a.iter().zip(&start).map(|(x, s)| (x - s).abs()).fold(0.0f32, f32::max);
        assert!(
            worst <= 1e-4 * scale,
            "{name}: two replicas differ from one by {worst} (scale {scale})"
        );
        if update > 100.0 * worst.max(1e-7) {
            moved += 1;
        }
    }
    assert!(
        moved * 2 > one.len(),
        "only {moved} of {} tensors moved well above the difference",
        one.len()
    );
}

#[test]
fn two_replicas_train_wgan_gp_as_one() {
    two_replicas_match_one(Variant::WganGp);
}

#[test]
fn two_replicas_train_wgan_as_one_with_synchronised_batch_norm() {
    two_replicas_match_one(Variant::Wgan);
}

#[test]
fn replica_count_must_match_the_devices() {
    let _one_at_a_time = COLLECTIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut config = config(Variant::WganGp);
    config.distributed.replicas = 2;
    let mut engine = Engine::<B>::new(config, distinct_images(), Default::default()).unwrap();
    let devices = vec![(Default::default(), "cpu".to_string()); 3];
    let err = start_replicas(&mut engine, &devices, None).unwrap_err().to_string();
    assert!(err.starts_with("distributed.replicas:"), "{err}");
}
