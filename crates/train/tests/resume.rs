//! Checkpoints resume exactly: N steps, a checkpoint, a fresh process state and N more steps
//! give bit-identical networks to 2N steps in one go.

mod common;

use burn::backend::{Autodiff, Flex};
use common::{distinct_images, snapshot, trained_run};
use wgan_model::Variant;
use wgan_train::{
    CriticSchedule, LearningRateSchedule, LipschitzConstraint, Penalty, Run, RunConfig, RunDir, SamplePoint, Silent,
    SpectralNormState, WganDiv, list_checkpoints, read_metrics,
};

type Ad = Autodiff<Flex>;
const HALF: u64 = 4;

fn config(variant: Variant, steps: u64) -> RunConfig {
    let mut config = common::small_config(variant, 11, 4, 8, 8);
    config.schedule.steps = steps;
    config.schedule.checkpoint_interval = HALF;
    config.schedule.sample_interval = 1000;
    config.schedule.keep_checkpoints = 2;
    config
}

/// A config for a given step budget.
type ConfigOfSteps = Box<dyn Fn(u64) -> RunConfig>;

/// The seeds, and the variants that carry state or schedules across a checkpoint: spectral
/// normalisation's vectors (on the WGAN critic with BatchNorm, and with WGAN-div on the
/// WGAN-GP critic), decaying learning rates, the original WGAN critic schedule and drift.
fn resume_cases() -> Vec<(&'static str, ConfigOfSteps)> {
    vec![
        ("wgan", Box::new(|steps| config(Variant::Wgan, steps))),
        ("wgan-gp", Box::new(|steps| config(Variant::WganGp, steps))),
        (
            "sn-wgan, wgan_paper critic schedule, linear lr",
            Box::new(|steps| {
                let mut config = config(Variant::Wgan, steps);
                config.lipschitz = LipschitzConstraint::SpectralNorm {
                    power_iterations: 1,
                    penalty: None,
                };
                config.schedule.n_critic_schedule = CriticSchedule::WganPaper;
                config.optimizer.critic_lr_schedule = LearningRateSchedule::Linear;
                config.optimizer.generator_lr_schedule = LearningRateSchedule::Linear;
                config.optimizer.lr_decay_steps = Some(2 * HALF);
                config
            }),
        ),
        (
            "sn + wgan-div, cosine lr, drift",
            Box::new(|steps| {
                let mut config = config(Variant::WganGp, steps);
                config.lipschitz = LipschitzConstraint::SpectralNorm {
                    power_iterations: 2,
                    penalty: Some(Penalty::WganDiv(WganDiv {
                        k: 2.0,
                        p: 6.0,
                        sample_at: SamplePoint::RealAndFake,
                    })),
                };
                config.optimizer.critic_lr_schedule = LearningRateSchedule::Cosine;
                config.optimizer.generator_lr_schedule = LearningRateSchedule::Cosine;
                config.optimizer.lr_decay_steps = Some(2 * HALF);
                config.drift = 1e-3;
                config
            }),
        ),
    ]
}

#[test]
fn resumed_runs_are_bit_identical_to_uninterrupted_ones() {
    for (variant, config) in resume_cases() {
        let dir = tempfile::tempdir().unwrap();

        let (straight_dir, straight) = trained_run::<Ad>(config(2 * HALF), dir.path(), "straight");
        let (split_dir, first) = trained_run::<Ad>(config(HALF), dir.path(), "split");
        drop(first);
        // An interrupted process may have logged steps past its last checkpoint, the last
        // line torn by the kill; resume must drop them.
        let mut metrics = std::fs::read_to_string(split_dir.metrics()).unwrap();
        metrics.push_str("{\"step\":5,\"critic_loss\":1.0,\"generator_loss\":1.0,\"wasserstein_estimate\":1.0,\"elapsed_s\":1.0}\n{\"step\":6,\"cri");
        std::fs::write(split_dir.metrics(), metrics).unwrap();

        let resumed = Run::<Ad>::resume(
            config(2 * HALF),
            distinct_images(),
            split_dir.clone(),
            Default::default(),
        )
        .unwrap();
        assert!(resumed.skipped.is_empty());
        assert!(resumed.checkpoint.as_ref().unwrap().ends_with("step-000004"));
        let mut second = resumed.run;
        assert_eq!(second.step(), HALF);
        second.run(&mut Silent).unwrap();

        let (a, b) = (snapshot(straight.engine()), snapshot(second.engine()));
        assert_eq!(a.0, b.0, "{variant:?}: generators differ after resume");
        assert_eq!(a.1, b.1, "{variant:?}: critics differ after resume");
        let vectors = |run: &Run<Ad>| {
            run.engine()
                .state()
                .spectral_vectors
                .as_ref()
                .map(SpectralNormState::of)
        };
        assert_eq!(
            vectors(&straight),
            vectors(&second),
            "{variant}: spectral-norm vectors differ"
        );
        assert_eq!(
            vectors(&straight).is_some(),
            variant.starts_with("sn"),
            "{variant}: spectral-norm vectors kept exactly when normalising"
        );

        // The metrics read as one run: same steps, same losses, bit for bit.
        let straight_log = read_metrics(&straight_dir.metrics()).unwrap();
        let split_log = read_metrics(&split_dir.metrics()).unwrap();
        let steps: Vec<u64> = split_log.iter().map(|m| m.step).collect();
        assert_eq!(steps, (1..=2 * HALF).collect::<Vec<_>>());
        for (x, y) in straight_log.iter().zip(&split_log) {
            assert_eq!(
                (x.critic_loss, x.generator_loss, x.gradient_penalty),
                (y.critic_loss, y.generator_loss, y.gradient_penalty)
            );
        }
        println!(
            "{variant:?}: {} steps in one go and {HALF} + {HALF} with a resume: parameters identical",
            2 * HALF
        );
    }
}

/// A WGAN-GP run of 2·HALF steps with checkpoints at HALF and 2·HALF, its run dropped
/// (lock released): `(tempdir, run)`.
fn finished_gp_run() -> (tempfile::TempDir, RunDir) {
    let dir = tempfile::tempdir().unwrap();
    let (run, _) = trained_run::<Ad>(config(Variant::WganGp, 2 * HALF), dir.path(), "run");
    (dir, run)
}

/// Resumes `run` with the config it was trained with.
fn resume_gp(run: &RunDir) -> Result<wgan_train::Resumed<Ad>, wgan_train::TrainError> {
    Run::<Ad>::resume(
        config(Variant::WganGp, 2 * HALF),
        distinct_images(),
        run.clone(),
        Default::default(),
    )
}

#[test]
fn a_corrupt_newest_checkpoint_falls_back_to_the_previous_one() {
    let (_dir, run) = finished_gp_run();
    let checkpoints = list_checkpoints(&run.checkpoints_dir());
    assert_eq!(
        checkpoints.iter().map(|c| c.0).collect::<Vec<_>>(),
        vec![2 * HALF, HALF]
    );

    // Truncate the newest checkpoint's critic.
    let critic = checkpoints[0].1.join("critic.bin");
    let bytes = std::fs::read(&critic).unwrap();
    std::fs::write(&critic, &bytes[..bytes.len() / 2]).unwrap();
    let resumed = resume_gp(&run).unwrap();
    assert_eq!(resumed.run.step(), HALF);
    assert_eq!(resumed.skipped.len(), 1);
    assert!(
        resumed.skipped[0].to_string().contains("critic.bin: SHA-256 mismatch"),
        "{}",
        resumed.skipped[0]
    );
    drop(resumed);

    // A different architecture is refused with the difference named.
    let mut wider = config(Variant::WganGp, 2 * HALF);
    wider.model.dim = 8;
    let err = Run::<Ad>::resume(wider, distinct_images(), run.clone(), Default::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("no usable checkpoint"), "{err}");
    assert!(err.contains("checkpoint has `dim = 4`, config has `dim = 8`"), "{err}");

    // A newer format version is refused.
    let state = checkpoints[1].1.join("state.json");
    let text = std::fs::read_to_string(&state)
        .unwrap()
        .replace("\"format\": 1", "\"format\": 99");
    std::fs::write(&state, text).unwrap();
    let err = resume_gp(&run).err().unwrap().to_string();
    assert!(err.contains("checkpoint format 99"), "{err}");
}

/// Copies the files of directory `from` into a fresh directory `to`.
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    if to.exists() {
        std::fs::remove_dir_all(to).unwrap();
    }
    std::fs::create_dir(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Bytes from a fixed-seed generator: what a disk or a bad copy may leave behind.
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    use rand::{RngCore, SeedableRng};
    let mut bytes = vec![0; len];
    rand_chacha::ChaCha8Rng::seed_from_u64(seed).fill_bytes(&mut bytes);
    bytes
}

#[test]
fn every_kind_of_damaged_checkpoint_is_named_and_skipped() {
    let (dir, run) = finished_gp_run();
    let newest = list_checkpoints(&run.checkpoints_dir())[0].1.clone();
    let pristine = dir.path().join("pristine");
    copy_dir(&newest, &pristine);
    let generator_len = std::fs::metadata(newest.join("generator.bin")).unwrap().len() as usize;
    let optimizer_len = std::fs::metadata(newest.join("critic-optimizer.bin")).unwrap().len() as usize;

    type Damage = Box<dyn Fn(&std::path::Path)>;
    let cases: Vec<(&str, Damage, &str)> = vec![
        (
            "truncated network file",
            Box::new(|dir| {
                let bytes = std::fs::read(dir.join("critic.bin")).unwrap();
                std::fs::write(dir.join("critic.bin"), &bytes[..bytes.len() / 2]).unwrap();
            }),
            "critic.bin: SHA-256 mismatch",
        ),
        (
            "random bytes in a network file",
            Box::new(move |dir| std::fs::write(dir.join("generator.bin"), random_bytes(generator_len, 1)).unwrap()),
            "generator.bin: SHA-256 mismatch",
        ),
        (
            "random bytes as the state file",
            Box::new(|dir| std::fs::write(dir.join("state.json"), random_bytes(4096, 2)).unwrap()),
            "state.json: corrupt state file",
        ),
        (
            "empty state file",
            Box::new(|dir| std::fs::write(dir.join("state.json"), "").unwrap()),
            "state.json: corrupt state file",
        ),
        (
            "state file cut short",
            Box::new(|dir| {
                let text = std::fs::read(dir.join("state.json")).unwrap();
                std::fs::write(dir.join("state.json"), &text[..text.len() / 3]).unwrap();
            }),
            "state.json: corrupt state file",
        ),
        (
            "missing optimizer file",
            Box::new(|dir| std::fs::remove_file(dir.join("critic-optimizer.bin")).unwrap()),
            "critic-optimizer.bin: No such file",
        ),
        (
            "missing state file",
            Box::new(|dir| std::fs::remove_file(dir.join("state.json")).unwrap()),
            "state.json: No such file",
        ),
        (
            "random bytes with a matching checksum",
            Box::new(move |dir| {
                let bytes = random_bytes(optimizer_len, 3);
                let state = std::fs::read_to_string(dir.join("state.json")).unwrap();
                let old = sha256_hex(&std::fs::read(dir.join("critic-optimizer.bin")).unwrap());
                std::fs::write(dir.join("state.json"), state.replace(&old, &sha256_hex(&bytes))).unwrap();
                std::fs::write(dir.join("critic-optimizer.bin"), bytes).unwrap();
            }),
            "critic-optimizer.bin: ",
        ),
        (
            "newer format version",
            Box::new(|dir| {
                let text = std::fs::read_to_string(dir.join("state.json")).unwrap();
                std::fs::write(dir.join("state.json"), text.replace("\"format\": 1", "\"format\": 99")).unwrap();
            }),
            "checkpoint format 99, this build reads format 1",
        ),
    ];
    for (what, damage, expected) in &cases {
        copy_dir(&pristine, &newest);
        damage(&newest);
        let resumed = resume_gp(&run).unwrap_or_else(|err| panic!("{what}: no fallback: {err}"));
        assert_eq!(resumed.run.step(), HALF, "{what}: resumed from the previous checkpoint");
        assert_eq!(resumed.skipped.len(), 1, "{what}");
        let message = resumed.skipped[0].to_string();
        assert!(message.contains(expected), "{what}: {message}");
        assert!(
            message.contains(newest.to_str().unwrap()),
            "{what}: path not named: {message}"
        );
    }
    println!("{} kinds of damaged checkpoint named and skipped", cases.len());
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
