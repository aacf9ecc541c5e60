//! Checkpoints resume exactly: N steps, a checkpoint, a fresh process state and N more steps
//! give bit-identical networks to 2N steps in one go.

use burn::backend::{Autodiff, Flex};
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Tensor, TensorData, backend::Backend};
use wgan_data::ImageSet;
use wgan_model::Variant;
use wgan_train::{RunConfig, RunDir, Silent, Trainer, list_checkpoints, read_metrics};

type Ad = Autodiff<Flex>;
const HALF: u64 = 4;

/// 64 distinct 16×16 images.
fn data() -> ImageSet {
    let size = 16;
    let pixels = (0..64 * size * size)
        .map(|p| (((p * 37) % 101) as f32 / 50.0) - 1.0)
        .collect();
    ImageSet {
        pixels,
        labels: vec![0; 64],
        size,
    }
}

fn config(variant: Variant, steps: u64) -> RunConfig {
    let mut config = RunConfig::preset(variant);
    config.seed = 11;
    config.model.dim = 4;
    config.model.latent_dim = 8;
    config.model.image_size = 16;
    config.model.generator_widths = vec![2, 1];
    config.model.critic_widths = vec![1, 2];
    config.data.batch_size = 8;
    config.schedule.steps = steps;
    config.schedule.checkpoint_interval = HALF;
    config.schedule.sample_interval = 1000;
    config.schedule.keep_checkpoints = 2;
    config
}

/// Every float tensor of a module, running statistics included, in visiting order.
struct Collect(Vec<TensorData>);

impl<B: Backend> ModuleVisitor<B> for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.0.push(param.val().into_data());
    }
}

fn snapshot(trainer: &Trainer<Ad>) -> (Vec<TensorData>, Vec<TensorData>) {
    let mut generator = Collect(Vec::new());
    trainer.generator().visit(&mut generator);
    let mut critic = Collect(Vec::new());
    trainer.critic().visit(&mut critic);
    (generator.0, critic.0)
}

#[test]
fn resumed_runs_are_bit_identical_to_uninterrupted_ones() {
    for variant in [Variant::Wgan, Variant::WganGp] {
        let dir = tempfile::tempdir().unwrap();

        let straight_dir = RunDir::create(dir.path().join("straight")).unwrap();
        let mut straight = Trainer::<Ad>::new(
            config(variant, 2 * HALF),
            data(),
            straight_dir.clone(),
            Default::default(),
        )
        .unwrap();
        straight.run(&mut Silent).unwrap();

        let split_dir = RunDir::create(dir.path().join("split")).unwrap();
        let mut first =
            Trainer::<Ad>::new(config(variant, HALF), data(), split_dir.clone(), Default::default()).unwrap();
        first.run(&mut Silent).unwrap();
        drop(first);
        // An interrupted process may have logged steps past its last checkpoint, the last
        // line torn by the kill; resume must drop them.
        let mut metrics = std::fs::read_to_string(split_dir.metrics()).unwrap();
        metrics.push_str("{\"step\":5,\"critic_loss\":1.0,\"generator_loss\":1.0,\"wasserstein_estimate\":1.0,\"elapsed_s\":1.0}\n{\"step\":6,\"cri");
        std::fs::write(split_dir.metrics(), metrics).unwrap();

        let resumed =
            Trainer::<Ad>::resume(config(variant, 2 * HALF), data(), split_dir.clone(), Default::default()).unwrap();
        assert!(resumed.skipped.is_empty());
        assert!(resumed.checkpoint.ends_with("step-000004"));
        let mut second = resumed.trainer;
        assert_eq!(second.step(), HALF);
        second.run(&mut Silent).unwrap();

        let (a, b) = (snapshot(&straight), snapshot(&second));
        assert_eq!(a.0, b.0, "{variant:?}: generators differ after resume");
        assert_eq!(a.1, b.1, "{variant:?}: critics differ after resume");

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

#[test]
fn a_corrupt_newest_checkpoint_falls_back_to_the_previous_one() {
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::create(dir.path().join("run")).unwrap();
    let mut trainer = Trainer::<Ad>::new(
        config(Variant::WganGp, 2 * HALF),
        data(),
        run.clone(),
        Default::default(),
    )
    .unwrap();
    trainer.run(&mut Silent).unwrap();
    let checkpoints = list_checkpoints(&run.checkpoints_dir());
    assert_eq!(
        checkpoints.iter().map(|c| c.0).collect::<Vec<_>>(),
        vec![2 * HALF, HALF]
    );

    // Truncate the newest checkpoint's critic.
    let critic = checkpoints[0].1.join("critic.bin");
    let bytes = std::fs::read(&critic).unwrap();
    std::fs::write(&critic, &bytes[..bytes.len() / 2]).unwrap();
    let resumed = Trainer::<Ad>::resume(
        config(Variant::WganGp, 2 * HALF),
        data(),
        run.clone(),
        Default::default(),
    )
    .unwrap();
    assert_eq!(resumed.trainer.step(), HALF);
    assert_eq!(resumed.skipped.len(), 1);
    assert!(
        resumed.skipped[0].to_string().contains("critic.bin: SHA-256 mismatch"),
        "{}",
        resumed.skipped[0]
    );

    // A different architecture is refused with the difference named.
    let mut wider = config(Variant::WganGp, 2 * HALF);
    wider.model.dim = 8;
    let err = Trainer::<Ad>::resume(wider, data(), run.clone(), Default::default())
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
    let err = Trainer::<Ad>::resume(config(Variant::WganGp, 2 * HALF), data(), run, Default::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("checkpoint format 99"), "{err}");
}
