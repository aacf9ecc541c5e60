//! The shipped configs parse, and the seed presets are reproduced exactly.

use std::path::Path;

use wgan_model::Variant;
use wgan_train::RunConfig;

fn load(name: &str) -> RunConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs").join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    RunConfig::from_toml(&text, &[]).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[test]
fn seed_configs_equal_the_presets() {
    assert_eq!(load("wgan.toml"), RunConfig::preset(Variant::Wgan));
    assert_eq!(load("wgan-gp.toml"), RunConfig::preset(Variant::WganGp));
}

#[test]
fn seed_presets_have_the_seed_hyperparameters() {
    use wgan_train::{LipschitzConstraint, OptimizerConfig};
    let wgan = RunConfig::preset(Variant::Wgan);
    assert_eq!(
        (
            wgan.model.dim,
            wgan.data.batch_size,
            wgan.schedule.n_critic,
            wgan.schedule.steps
        ),
        (128, 64, 5, 2000)
    );
    assert!(matches!(
        wgan.optimizer.critic,
        OptimizerConfig::RmsProp {
            learning_rate: 5e-5,
            ..
        }
    ));
    assert_eq!(wgan.lipschitz, LipschitzConstraint::WeightClip { clip_value: 0.01 });
    let gp = RunConfig::preset(Variant::WganGp);
    assert_eq!(
        (
            gp.model.dim,
            gp.data.batch_size,
            gp.schedule.n_critic,
            gp.schedule.steps
        ),
        (128, 64, 5, 5000)
    );
    assert_eq!(
        gp.optimizer.generator,
        OptimizerConfig::Adam {
            learning_rate: 1e-4,
            beta1: 0.5,
            beta2: 0.9,
            epsilon: 1e-7
        }
    );
    assert_eq!(gp.lipschitz, LipschitzConstraint::SEED_WGAN_GP);
}

#[test]
fn smoke_config_is_small() {
    let smoke = load("smoke.toml");
    assert_eq!((smoke.model.dim, smoke.schedule.steps), (8, 30));
    assert_eq!(smoke.preset, Variant::WganGp);
}

#[test]
fn constraint_presets_parse_as_their_constraints() {
    let expected = [
        ("wgan-lp.toml", "one_sided_gradient_penalty"),
        ("wgan-div.toml", "wgan_div"),
        ("sn-wgan.toml", "spectral_norm"),
        ("r1.toml", "r1"),
        ("wgan-gp-linear-decay.toml", "gradient_penalty"),
        ("wgan-paper-schedule.toml", "weight_clip"),
    ];
    for (file, name) in expected {
        assert_eq!(load(file).lipschitz.name(), name, "{file}");
    }
    let decay = load("wgan-gp-linear-decay.toml");
    assert_eq!(
        decay.optimizer.learning_rates(2500, decay.schedule.steps),
        [0.5e-4, 0.5e-4]
    );
    assert_eq!(decay.drift, 0.001);
    assert_eq!(
        load("wgan-paper-schedule.toml").schedule.n_critic_schedule,
        wgan_train::CriticSchedule::WganPaper
    );
}
