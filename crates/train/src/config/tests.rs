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
    assert_eq!(config.lipschitz, LipschitzConstraint::GradientPenalty { lambda: 5.0 });
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
    ];
    for (text, expected) in cases {
        let err = RunConfig::from_toml(text, &[]).unwrap_err().to_string();
        assert!(err.contains(expected), "{text:?}: {err}");
    }
}
