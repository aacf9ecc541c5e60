//! Hostile inputs and faults through the real binary: bad configs, an unwritable or full disk,
//! two trainers on one run directory, and SIGKILL at random moments.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use burn::backend::Flex;
use burn::module::{Module, ModuleVisitor, Param};
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::{Tensor, backend::Backend};
use rand::{Rng, SeedableRng};
use wgan_model::{Critic, Generator};
use wgan_train::{CheckpointState, Stream, list_checkpoints, read_checkpoint, stream_rng};

use common::{losses, losses_logged, smoke_train_args, stderr_with_code, wait_for_steps, wgan, with_training_data};

/// Every config mistake the issue tracker has seen, each with the field it must name.
const BAD_CONFIGS: [(&str, &str, &str); 14] = [
    ("malformed TOML", "preset = [", "invalid TOML"),
    ("unknown section", "preset = \"wgan-gp\"\n[modle]\ndim = 4\n", "modle"),
    ("unknown key", "preset = \"wgan-gp\"\n[model]\ndimm = 4\n", "model.dimm"),
    (
        "wrong type",
        "preset = \"wgan-gp\"\n[data]\nbatch_size = \"big\"\n",
        "data.batch_size",
    ),
    (
        "batch size 0",
        "preset = \"wgan-gp\"\n[data]\nbatch_size = 0\n",
        "data.batch_size",
    ),
    (
        "n_critic 0",
        "preset = \"wgan-gp\"\n[schedule]\nn_critic = 0\n",
        "schedule.n_critic",
    ),
    (
        "negative learning rate",
        "preset = \"wgan-gp\"\n[optimizer.critic]\nlearning_rate = -0.001\n",
        "optimizer.critic.learning_rate",
    ),
    (
        "NaN learning rate",
        "preset = \"wgan\"\n[optimizer.generator]\nlearning_rate = nan\n",
        "optimizer.generator.learning_rate",
    ),
    (
        "clip value 0",
        "preset = \"wgan\"\n[lipschitz]\nclip_value = 0.0\n",
        "lipschitz.clip_value",
    ),
    (
        "clip value < 0",
        "preset = \"wgan\"\n[lipschitz]\nclip_value = -0.01\n",
        "lipschitz.clip_value",
    ),
    (
        "lambda < 0",
        "preset = \"wgan-gp\"\n[lipschitz]\ngp_lambda = -10.0\n",
        "lipschitz.gp_lambda",
    ),
    (
        "steps 0",
        "preset = \"wgan-gp\"\n[schedule]\nsteps = 0\n",
        "schedule.steps",
    ),
    (
        "unreachable image size",
        "preset = \"wgan-gp\"\n[model]\nimage_size = 48\n",
        "model.image_size",
    ),
    ("zero width", "preset = \"wgan-gp\"\n[model]\ndim = 0\n", "model.dim"),
];

#[test]
fn bad_configs_exit_1_naming_the_file_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    for (index, (what, text, field)) in BAD_CONFIGS.iter().enumerate() {
        let path = dir.path().join(format!("bad-{index}.toml"));
        std::fs::write(&path, text).unwrap();
        let run = dir.path().join(format!("run-{index}"));
        let output = wgan(&[
            "train",
            "--config",
            path.to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
        ]);
        let stderr = stderr_with_code(&output, 1);
        assert!(
            stderr.contains(path.to_str().unwrap()),
            "{what}: file not named: {stderr}"
        );
        assert!(stderr.contains(field), "{what}: field {field} not named: {stderr}");
        assert!(!run.exists(), "{what}: a run directory was created");
    }
    let output = wgan(&["train", "--config", "/nonexistent/run.toml"]);
    let stderr = stderr_with_code(&output, 1);
    assert!(stderr.contains("/nonexistent/run.toml"), "{stderr}");
    println!("{} bad configs and a missing config file refused", BAD_CONFIGS.len());
}

#[test]
fn an_output_directory_that_cannot_be_written_is_a_clear_error() {
    let (dir, data) = with_training_data();
    let blocker = dir.path().join("not-a-directory");
    std::fs::write(&blocker, "a file where the run directory's parent should be").unwrap();
    for run in [blocker.join("run"), blocker.clone()] {
        let args = smoke_train_args(&run, &data);
        let output = wgan(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let stderr = stderr_with_code(&output, 1);
        assert!(stderr.contains(blocker.to_str().unwrap()), "{stderr}");
        assert!(
            stderr.contains("ot a directory") || stderr.contains("exists"),
            "{stderr}"
        );
        assert_eq!(
            stderr.matches("(os error").count(),
            1,
            "the OS error is printed once: {stderr}"
        );
    }
}

/// `wgan train ARGS` under a file-size limit of `bytes` (what a full disk looks like to a
/// writer of one file).
fn train_with_file_size_limit(bytes: u64, args: &[&str]) -> std::process::Output {
    Command::new("prlimit")
        .env(wgan_test_support::binary::DEVICE_VARIABLE, "cpu")
        .arg(format!("--fsize={bytes}"))
        .arg(env!("CARGO_BIN_EXE_wgan"))
        .args(args)
        .output()
        .expect("prlimit (util-linux) runs")
}

#[test]
fn a_disk_that_fills_up_during_a_checkpoint_keeps_the_previous_one() {
    let (dir, data) = with_training_data();
    let run = dir.path().join("run");
    let mut args = smoke_train_args(&run, &data);
    args.extend(["--steps", "10", "--set", "schedule.checkpoint_interval=10"].map(String::from));
    let output = wgan(&args.iter().map(String::as_str).collect::<Vec<_>>());
    stderr_with_code(&output, 0);
    let first = run.join("checkpoints/step-000010");
    let before: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&first)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();

    // The optimizer files of this network are larger than the limit; everything else fits.
    let size = |name: &str| std::fs::metadata(first.join(name)).unwrap().len();
    let limit = (size("generator.bin") + size("generator-optimizer.bin")) / 2;
    assert!(size("generator.bin") < limit && limit < size("generator-optimizer.bin"));
    let run_arg = run.to_str().unwrap();
    let output = train_with_file_size_limit(limit, &["train", "--resume", run_arg, "--steps", "20"]);
    let stderr = stderr_with_code(&output, 1);
    assert!(stderr.contains("step 20: cannot write the checkpoint"), "{stderr}");
    assert!(stderr.contains("generator-optimizer.bin"), "file not named: {stderr}");
    assert!(stderr.contains("earlier checkpoints are intact"), "{stderr}");
    let left: Vec<String> = std::fs::read_dir(run.join("checkpoints"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec!["step-000010"], "the partial checkpoint is removed");
    for (path, bytes) in &before {
        assert_eq!(&std::fs::read(path).unwrap(), bytes, "{} changed", path.display());
    }

    // With space again, the run continues from the kept checkpoint.
    let output = wgan(&["train", "--resume", run_arg, "--steps", "20"]);
    let stderr = stderr_with_code(&output, 0);
    assert!(stderr.contains("step-000010 (step 10)"), "{stderr}");
    assert_eq!(losses(&run).len(), 20);
    assert!(run.join("checkpoints/step-000020/state.json").is_file());
}

fn spawn_train(args: &[String]) -> Child {
    common::binary()
        .command()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn a_second_trainer_on_the_same_run_is_refused_and_a_stale_lock_is_taken_over() {
    let (dir, data) = with_training_data();
    let run = dir.path().join("run");
    let mut args = smoke_train_args(&run, &data);
    args.extend(["--steps".into(), "1000".into()]);
    let mut first = spawn_train(&args);
    wait_for_steps(&run, 1);

    let run_arg = run.to_str().unwrap();
    let output = wgan(&["train", "--resume", run_arg]);
    let stderr = stderr_with_code(&output, 1);
    assert!(
        stderr.contains(&format!("in use by process {}", first.id())),
        "{stderr}"
    );
    assert!(stderr.contains("train.lock"), "{stderr}");
    let output = wgan(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let stderr = stderr_with_code(&output, 1);
    assert!(stderr.contains("already holds a run"), "{stderr}");

    // SIGKILL leaves the lock file behind; nobody holds it any more, so it is stale.
    let owner = format!("process {}", first.id());
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(std::fs::read_to_string(run.join("train.lock")).unwrap(), owner);
    let output = wgan(&["train", "--resume", run_arg, "--steps", "3"]);
    let stderr = stderr_with_code(&output, 0);
    assert!(
        stderr.contains(&format!("took over a stale lock left by {owner}")),
        "{stderr}"
    );
    assert!(!run.join("train.lock").exists(), "the lock is released at exit");
}

/// Every float tensor of a module, in visiting order.
struct Collect(Vec<Vec<f32>>);

impl<B: Backend> ModuleVisitor<B> for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.0.push(param.val().into_data().to_vec().unwrap());
    }
}

/// The parameters (and BatchNorm statistics) of both networks in the newest checkpoint.
fn final_parameters(run: &Path) -> Vec<Vec<f32>> {
    let (_, newest) = list_checkpoints(&run.join("checkpoints")).remove(0);
    let state: CheckpointState = serde_json::from_slice(&std::fs::read(newest.join("state.json")).unwrap()).unwrap();
    let loaded = read_checkpoint(&newest, &state.model).unwrap();
    let device = Default::default();
    let recorder = BinBytesRecorder::<FullPrecisionSettings, Vec<u8>>::default();
    let mut rng = stream_rng(0, Stream::Weights);
    let generator = Generator::<Flex>::new(&state.model, &mut rng, &device).unwrap();
    let critic = Critic::<Flex>::new(&state.model, &mut rng, &device).unwrap();
    let generator = generator.load_record(recorder.load(loaded.files[0].clone(), &device).unwrap());
    let critic = critic.load_record(recorder.load(loaded.files[1].clone(), &device).unwrap());
    let mut collect = Collect(Vec::new());
    generator.visit(&mut collect);
    critic.visit(&mut collect);
    collect.0
}

/// Newest checkpoint step on disk (0 if none).
fn checkpointed_step(run: &Path) -> usize {
    list_checkpoints(&run.join("checkpoints"))
        .first()
        .map_or(0, |c| c.0 as usize)
}

#[test]
fn chaos_random_kills_lose_nothing() {
    const KILLS: usize = 10;
    let (dir, data) = with_training_data();
    let schedule = [
        "--steps".to_string(),
        "60".into(),
        "--set".into(),
        "schedule.checkpoint_interval=3".into(),
        "--set".into(),
        "schedule.keep_checkpoints=2".into(),
    ];
    let straight = dir.path().join("straight");
    let mut args = smoke_train_args(&straight, &data);
    args.extend(schedule.clone());
    let output = wgan(&args.iter().map(String::as_str).collect::<Vec<_>>());
    stderr_with_code(&output, 0);
    let expected_losses = losses(&straight);
    let step_s = std::fs::read_to_string(straight.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|m| m["elapsed_s"].as_f64())
        .next_back()
        .unwrap()
        / 60.0;

    let seed = std::env::var("WGAN_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::process::id() as u64);
    println!("chaos seed {seed} (set WGAN_CHAOS_SEED to replay)");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let chaos = dir.path().join("chaos");
    let mut fresh = smoke_train_args(&chaos, &data);
    fresh.extend(schedule);
    let resume: Vec<String> = ["train", "--resume", chaos.to_str().unwrap()].map(String::from).into();
    let mut kills = 0;
    while kills < KILLS {
        let args = if chaos.join("config.toml").exists() {
            &resume
        } else {
            &fresh
        };
        // A random moment: during start-up, a step, a sample grid or a checkpoint write, at
        // most about one checkpoint (3 steps) past the last, so 10 kills fit well in 60 steps.
        let target = checkpointed_step(&chaos) + rng.random_range(0..=2);
        let mut child = spawn_train(args);
        while losses_logged(&chaos) < target && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_secs_f64(step_s * rng.random_range(0.0..1.0)));
        if child.try_wait().unwrap().is_some() {
            panic!("the run ended before kill {} (exit {:?})", kills + 1, child.wait());
        }
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
    }
    let output = wgan(&resume.iter().map(String::as_str).collect::<Vec<_>>());
    stderr_with_code(&output, 0);

    assert_eq!(losses(&chaos), expected_losses, "logged losses differ");
    let (expected, actual) = (final_parameters(&straight), final_parameters(&chaos));
    assert_eq!(expected.len(), actual.len());
    assert!(expected == actual, "final parameters differ");
    println!("{kills} kills survived, final parameters identical");
}

#[test]
fn a_blow_up_stops_naming_the_step_and_loss_and_keeps_the_last_checkpoint() {
    let (dir, data) = with_training_data();
    let run = dir.path().join("run");
    let mut args = smoke_train_args(&run, &data);
    args.extend(["--steps", "4", "--set", "schedule.checkpoint_interval=2"].map(String::from));
    stderr_with_code(&wgan(&args.iter().map(String::as_str).collect::<Vec<_>>()), 0);
    let kept = std::fs::read(run.join("checkpoints/step-000004/critic.bin")).unwrap();

    // A learning rate of 1e30 sends the weights, then the losses, past f32.
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    let config: String = config
        .lines()
        .map(|line| {
            if line.starts_with("learning_rate") {
                "learning_rate = 1e30\n".to_string()
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    std::fs::write(run.join("config.toml"), config).unwrap();
    let output = wgan(&["train", "--resume", run.to_str().unwrap(), "--steps", "30"]);
    let stderr = stderr_with_code(&output, 2);
    assert!(stderr.contains("step 5: critic_loss is "), "{stderr}");
    assert!(stderr.contains("training stopped"), "{stderr}");
    assert_eq!(losses(&run).len(), 4, "the non-finite step is not logged");
    assert_eq!(checkpointed_step(&run), 4, "no checkpoint of the broken state");
    assert_eq!(
        std::fs::read(run.join("checkpoints/step-000004/critic.bin")).unwrap(),
        kept
    );
}
