//! `wgan train`: load the data, build or resume the trainer, run it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use wgan_data::{ImageSet, Split};
use wgan_train::{RunConfig, RunDir, RunOutcome, Trainer};

use crate::UserError;
use crate::args::TrainArgs;
use crate::commands::eval::quality_meter;
use crate::dataset::load_split;
use crate::device::{self, with_backend};
use crate::progress::Progress;
use crate::settings::{load_config, run_directory};

/// Exit code after Ctrl-C: the step was finished and checkpointed (128 + SIGINT).
pub const INTERRUPTED: u8 = 130;

/// Trains as configured (or resumes) and writes the run directory. Returns the exit code:
/// 0, or [`INTERRUPTED`] after Ctrl-C.
pub fn run(args: &TrainArgs) -> anyhow::Result<u8> {
    let device = device::select(&args.device)?;
    let mut overrides = args.overrides.clone();
    if let Some(seed) = args.seed {
        overrides.push(format!("seed={seed}"));
    }
    if let Some(steps) = args.steps {
        overrides.push(format!("schedule.steps={steps}"));
    }
    let (config, run_dir) = match (&args.resume, &args.config) {
        (Some(run), _) => {
            let run_dir = RunDir::new(run);
            if !run_dir.config().is_file() {
                return Err(UserError(format!("{}: not a run directory (no config.toml)", run.display())).into());
            }
            (load_config(&run_dir.config(), &overrides)?, run_dir)
        }
        (None, Some(config_path)) => {
            let config = load_config(config_path, &overrides)?;
            (config, RunDir::new(run_directory(args.out.as_deref(), config_path)))
        }
        (None, None) => return Err(UserError("give --config FILE for a new run or --resume RUN_DIR".into()).into()),
    };
    let data = load_training_data(&config)?;
    // Ctrl-C asks the loop to finish its step and checkpoint; a second Ctrl-C kills at once.
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(INTERRUPTED));
        }
        eprintln!("\ninterrupted: finishing this step and writing a checkpoint (Ctrl-C again to quit now)");
    })
    .context("installing the Ctrl-C handler")?;
    let mut progress = Progress::new(config.schedule.log_interval, interrupted);
    let root = run_dir.root().to_path_buf();
    let outcome = with_backend!(&device, |B, handle| {
        let meter = match config.schedule.eval_interval {
            0 => None,
            _ => Some(quality_meter(
                &config.data.classifier,
                config.data.path.clone(),
                config.model.image_size,
                &handle,
            )?),
        };
        let mut trainer = start::<B>(args.resume.is_some(), config, data, run_dir, handle)?;
        if let Some(meter) = meter {
            trainer.set_quality_probe(Box::new(meter));
        }
        trainer.run(&mut progress)?
    });
    match outcome {
        RunOutcome::Finished => Ok(0),
        RunOutcome::Stopped { step } => {
            eprintln!(
                "stopped at step {step}, checkpoint written; continue with: wgan train --resume {}",
                root.display()
            );
            Ok(INTERRUPTED)
        }
    }
}

/// A new trainer in a fresh run directory, or the resumed one.
fn start<B: burn::tensor::backend::AutodiffBackend>(
    resume: bool,
    config: RunConfig,
    data: ImageSet,
    run_dir: RunDir,
    device: B::Device,
) -> anyhow::Result<Trainer<B>> {
    if !resume {
        let run_dir = RunDir::create(run_dir.root())?;
        eprintln!("run directory: {}", run_dir.root().display());
        let trainer = Trainer::new(config, data, run_dir, device)?;
        warn_stale_lock(&trainer);
        return Ok(trainer);
    }
    let root = run_dir.root().to_path_buf();
    let resumed =
        Trainer::resume(config, data, run_dir, device).with_context(|| format!("resuming {}", root.display()))?;
    for skipped in &resumed.skipped {
        eprintln!("warning: skipped checkpoint: {skipped}");
    }
    warn_stale_lock(&resumed.trainer);
    let step = resumed.trainer.step();
    match &resumed.checkpoint {
        Some(checkpoint) => eprintln!(
            "resuming {} from {} (step {step})",
            root.display(),
            checkpoint.display()
        ),
        None => eprintln!(
            "resuming {}: no checkpoint was written yet, starting over from step 0",
            root.display()
        ),
    }
    if step >= resumed.trainer.config().schedule.steps {
        eprintln!("the run already finished at step {step}; extend it with --steps N");
    }
    Ok(resumed.trainer)
}

fn warn_stale_lock<B: burn::tensor::backend::AutodiffBackend>(trainer: &Trainer<B>) {
    if let Some(owner) = trainer.stale_lock_owner() {
        eprintln!("note: took over a stale lock left by {owner}, which is no longer running");
    }
}

/// Finds and loads the Fashion-MNIST training split at the model's image size.
fn load_training_data(config: &RunConfig) -> anyhow::Result<ImageSet> {
    if config.model.channels != 1 {
        return Err(UserError(format!(
            "model.channels: Fashion-MNIST has 1 channel, the config says {}",
            config.model.channels
        ))
        .into());
    }
    load_split(Split::Train, config.data.path.clone(), config.model.image_size)
}
