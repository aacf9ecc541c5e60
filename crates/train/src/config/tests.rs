//! Loading, merging and validating run configurations.

use std::path::PathBuf;

use super::*;

#[test]
fn presets_round_trip_through_toml() {
    for variant in [Variant::Wgan, Variant::WganGp] {
        let config = RunConfig::preset(variant);
        assert_eq!(RunConfig::from_toml(&config.to_toml(), &[]).unwrap(), config);
    }
}

#[test]
fn file_is_a_diff_on_its_preset() {
    let config = RunConfig::from_toml("preset = \"wgan\"\n[model]\ndim = 64\n", &[]).unwrap();
    let mut expected = RunConfig::preset(Variant::Wgan);
    expected.model.dim = 64;
    assert_eq!(config, expected);
}

#[test]
fn overrides_apply_after_the_file_and_are_validated() {
    let overrides = [
        "model.dim=16".to_string(),
        "schedule.steps = 7".into(),
        "data.path=/tmp/x".into(),
    ];
    let config = RunConfig::from_toml("preset = \"wgan-gp\"", &overrides).unwrap();
    assert_eq!((config.model.dim, config.schedule.steps), (16, 7));
    assert_eq!(config.data.path, Some(PathBuf::from("/tmp/x")));
    let err = RunConfig::from_toml("preset = \"wgan-gp\"", &["schedule.n_critic=0".into()]).unwrap_err();
    assert_eq!(err.to_string(), "schedule.n_critic: must be at least 1");
    let err = RunConfig::from_toml("preset = \"wgan-gp\"", &["model.dimm=3".into()]).unwrap_err();
    assert!(err.to_string().starts_with("model.dimm: unknown field `dimm`"), "{err}");
}

#[test]
fn switching_the_constraint_kind_replaces_the_section() {
    // Weight clipping on the WGAN-GP architecture: gp_lambda must not linger.
    let text = "preset = \"wgan-gp\"\n[lipschitz]\nkind = \"weight_clip\"\nclip_value = 0.02\n";
    let config = RunConfig::from_toml(text, &[]).unwrap();
    assert_eq!(config.lipschitz, LipschitzConstraint::WeightClip { clip_value: 0.02 });
    // The penalty on a critic with BatchNorm is refused.
    let err = RunConfig::from_toml(
        "preset = \"wgan\"",
        &["lipschitz.kind=gradient_penalty".into(), "lipschitz.gp_lambda=1".into()],
    )
    .unwrap_err();
    assert!(
        err.to_string().starts_with("model.critic_norm: must be \"none\""),
        "{err}"
    );
    let text = "preset = \"wgan\"\n[lipschitz]\nkind = \"gradient_penalty\"\ngp_lambda = 5.0\n\
                [model]\ncritic_norm = \"none\"\n";
    let config = RunConfig::from_toml(text, &[]).unwrap();
    let expected = GradientPenalty {
        lambda: 5.0,
        ..gradient_penalty_of(LipschitzConstraint::SEED_WGAN_GP)
    };
    assert_eq!(config.lipschitz, LipschitzConstraint::GradientPenalty(expected));
}

fn gradient_penalty_of(constraint: LipschitzConstraint) -> GradientPenalty {
    match constraint {
        LipschitzConstraint::GradientPenalty(gp) => gp,
        other => panic!("not a gradient penalty: {other:?}"),
    }
}

#[test]
fn every_constraint_reads_with_its_defaults() {
    let read = |lipschitz: &str| {
        let text = format!("preset = \"wgan-gp\"\n[lipschitz]\n{lipschitz}\n");
        RunConfig::from_toml(&text, &[]).unwrap().lipschitz
    };
    let lp = read("kind = \"gradient_penalty\"\ngp_lambda = 10.0\none_sided = true");
    assert_eq!(lp.name(), "one_sided_gradient_penalty");
    assert_eq!(
        lp.penalty().unwrap().per_sample(),
        NormPenalty::OneSided { center: 1.0 }
    );
    let r1 = read("kind = \"zero_centered\"\ngamma = 10.0");
    assert_eq!((r1.name(), r1.penalty().unwrap().weight()), ("r1".to_string(), 5.0));
    let r0 = read("kind = \"zero_centered\"\ngamma = 1.0\nsample_at = \"interpolate\"");
    assert_eq!(r0.name(), "r0");
    let div = read("kind = \"wgan_div\"");
    assert_eq!(
        div,
        LipschitzConstraint::WganDiv(WganDiv {
            k: 2.0,
            p: 6.0,
            sample_at: SamplePoint::RealAndFake
        })
    );
    let sn = read("kind = \"spectral_norm\"");
    assert_eq!((sn.spectral_norm_iterations(), sn.penalty()), (Some(1), None));
    let sn_gp = read("kind = \"spectral_norm\"\n[lipschitz.penalty]\nkind = \"gradient_penalty\"\ngp_lambda = 1.0");
    assert_eq!(sn_gp.name(), "spectral_norm+gradient_penalty");
    for constraint in [lp, r1, r0, div, sn, sn_gp] {
        let mut config = RunConfig::preset(Variant::WganGp);
        config.lipschitz = constraint;
        assert_eq!(
            RunConfig::from_toml(&config.to_toml(), &[]).unwrap(),
            config,
            "{constraint:?}"
        );
    }
}

#[test]
fn schedules_read_and_give_the_learning_rates() {
    let text = "preset = \"wgan-gp\"\n[optimizer]\ncritic_lr_schedule = \"linear\"\n\
                generator_lr_schedule = \"cosine\"\n[schedule]\nsteps = 100\nn_critic_schedule = \"wgan_paper\"\n";
    let config = RunConfig::from_toml(text, &[]).unwrap();
    assert_eq!(config.schedule.n_critic_schedule, CriticSchedule::WganPaper);
    let [critic, generator] = config.optimizer.learning_rates(50, config.schedule.steps);
    assert!((critic - 0.5e-4).abs() < 1e-18 && (generator - 0.5e-4).abs() < 1e-18);
    let config = RunConfig::from_toml(text, &["optimizer.lr_decay_steps=25".into()]).unwrap();
    assert_eq!(config.optimizer.learning_rates(50, 100), [0.0, 0.0]);
    assert_eq!(RunConfig::from_toml(&config.to_toml(), &[]).unwrap(), config);
}

#[test]
fn errors_name_the_field() {
    let cases = [
        (
            "preset = \"wgan\"\n[model]\ndim = \"wide\"",
            "model.dim: invalid type: string \"wide\"",
        ),
        (
            "preset = \"wgan\"\n[data]\nbatch_size = 0",
            "data.batch_size: must be at least 1",
        ),
        (
            "preset = \"wgan\"\n[optimizer.critic]\nlearning_rate = -1.0",
            "optimizer.critic.learning_rate: must be",
        ),
        (
            "preset = \"wgan\"\n[optimizer.critic]\nlearning_rate = nan",
            "optimizer.critic.learning_rate: must be",
        ),
        (
            "preset = \"wgan\"\n[lipschitz]\nclip_value = 0.0",
            "lipschitz.clip_value: must be",
        ),
        (
            "preset = \"wgan-gp\"\n[lipschitz]\ngp_lambda = -1.0",
            "lipschitz.gp_lambda: must be",
        ),
        (
            "preset = \"wgan\"\n[schedule]\nsteps = 0",
            "schedule.steps: must be at least 1",
        ),
        ("preset = \"wgan\"\n[model]\nimage_size = 30", "model.image_size:"),
        (
            "preset = \"wgan\"\n[logging]\ngrid_scale = 17",
            "logging.grid_scale: must be 1 to 16",
        ),
        (
            "preset = \"wgan\"\n[logging]\nsmoothing = 1.0",
            "logging.smoothing: must be in [0, 1)",
        ),
        ("preset = \"wgan\"\n[logging]\nwandb = true", "unknown field `wandb`"),
        ("preset = \"wgan\"\nsurprise = 1", "unknown field `surprise`"),
        ("[model]\ndim = 3", "preset: missing"),
        ("preset = \"dcgan\"", "preset: expected \"wgan\" or \"wgan-gp\""),
        ("preset = ", "invalid TOML"),
        (
            "preset = \"wgan-gp\"\n[lipschitz]\ngp_lambda = nan",
            "lipschitz.gp_lambda: must be",
        ),
        (
            "preset = \"wgan-gp\"\n[lipschitz]\ncenter = -1.0",
            "lipschitz.center: must be",
        ),
        (
            "preset = \"wgan-gp\"\n[lipschitz]\nkind = \"zero_centered\"\ngamma = -1.0",
            "lipschitz.gamma: must be",
        ),
        (
            "preset = \"wgan-gp\"\n[lipschitz]\nkind = \"wgan_div\"\np = 0.0",
            "lipschitz.p: must be a finite number > 0",
        ),
        (
            "preset = \"wgan-gp\"\n[lipschitz]\nkind = \"wgan_div\"\nk = nan",
            "lipschitz.k: must be",
        ),
        (
            "preset = \"wgan-gp\"\n[lipschitz]\nkind = \"wgan_div\"\nsample_at = \"midpoint\"",
            "unknown variant `midpoint`",
        ),
        (
            "preset = \"wgan-gp\"\n[lipschitz]\nkind = \"spectral_norm\"\npower_iterations = 0",
            "lipschitz.power_iterations: must be at least 1",
        ),
        (
            "preset = \"wgan-gp\"\n[lipschitz]\nkind = \"spectral_norm\"\n[lipschitz.penalty]\n\
             kind = \"zero_centered\"\ngamma = -2.0",
            "lipschitz.penalty.gamma: must be",
        ),
        (
            "preset = \"wgan-gp\"\n[lipschitz]\nkind = \"spectral_norm\"\n[lipschitz.penalty]\n\
             kind = \"weight_clip\"\nclip_value = 0.1",
            "unknown variant `weight_clip`",
        ),
        ("preset = \"wgan-gp\"\ndrift = -0.001", "drift: must be"),
        (
            "preset = \"wgan-gp\"\n[optimizer]\nlr_decay_steps = 6000",
            "optimizer.lr_decay_steps: must be 1 to schedule.steps = 5000",
        ),
        (
            "preset = \"wgan-gp\"\n[optimizer]\ncritic_lr_schedule = \"step\"",
            "unknown variant `step`",
        ),
    ];
    for (text, expected) in cases {
        let err = RunConfig::from_toml(text, &[]).unwrap_err().to_string();
        assert!(err.contains(expected), "{text:?}: {err}");
    }
}
