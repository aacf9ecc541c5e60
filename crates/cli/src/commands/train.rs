//! `wgan train`: load the data, create or resume the run, train it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use wgan_data::ImageSet;
use wgan_eval::ClassifierSource;
use wgan_train::{Run, RunConfig, RunDir, RunOutcome};

use crate::args::TrainArgs;
use crate::commands::eval::quality_meter;
use crate::dataset::load_training_data;
use crate::device::{self, with_backend};
use crate::progress::Progress;
use crate::settings::TrainSettings;

/// Exit code after Ctrl-C: the step was finished and checkpointed (128 + SIGINT).
pub const INTERRUPTED: u8 = 130;

/// Trains as configured (or resumes) and writes the run directory. Returns the exit code:
/// 0, or [`INTERRUPTED`] after Ctrl-C.
pub fn run(args: &TrainArgs) -> anyhow::Result<u8> {
    let TrainSettings {
        config,
        run_dir,
        resume,
        device,
    } = TrainSettings::resolve(args)?;
    let device = device::select(device)?;
    let loaded = load_training_data(&config)?;
    let data = loaded.images;
    let data_report = loaded.report;
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
    let device_name = device.to_string();
    let outcome = with_backend!(&device, |B, handle| {
        let meter = match config.schedule.eval_interval {
            0 => None,
            _ => Some(
                quality_meter(
                    &ClassifierSource::from_option(config.data.classifier.as_deref()),
                    config.data.path.clone(),
                    config.model.image_size,
                    &handle,
                )?
                .0,
            ),
        };
        let mut run = start::<B>(resume, config, data, run_dir, handle)?;
        run.set_device(device_name);
        write_data_report(&root, &data_report);
        if let Some(meter) = meter {
            run.set_quality_probe(Box::new(meter));
        }
        run.run(&mut progress)?
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

/// A new run in a fresh run directory, or the resumed one.
fn start<B: burn::tensor::backend::AutodiffBackend>(
    resume: bool,
    config: RunConfig,
    data: ImageSet,
    run_dir: RunDir,
    device: B::Device,
) -> anyhow::Result<Run<B>> {
    if !resume {
        let run_dir = RunDir::create(run_dir.root())?;
        eprintln!("run directory: {}", run_dir.root().display());
        let run = Run::create(config, data, run_dir, device)?;
        warn_stale_lock(&run);
        return Ok(run);
    }
    let root = run_dir.root().to_path_buf();
    let resumed = Run::resume(config, data, run_dir, device).with_context(|| format!("resuming {}", root.display()))?;
    for skipped in &resumed.skipped {
        eprintln!("warning: skipped checkpoint: {skipped}");
    }
    warn_stale_lock(&resumed.run);
    let step = resumed.run.step();
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
    if step >= resumed.run.engine().config().schedule.steps {
        eprintln!("the run already finished at step {step}; extend it with --steps N");
    }
    Ok(resumed.run)
}

fn warn_stale_lock<B: burn::tensor::backend::AutodiffBackend>(run: &Run<B>) {
    if let Some(owner) = run.stale_lock_owner() {
        eprintln!("note: took over a stale lock left by {owner}, which is no longer running");
    }
}

/// Records what the run trains on (source, counts, classes, sizes, skipped files) in
/// `data.json`; a failure to write it is a warning, not a reason to stop.
fn write_data_report(root: &std::path::Path, report: &wgan_data::DataReport) {
    let path = root.join("data.json");
    let written = serde_json::to_string_pretty(report)
        .map_err(std::io::Error::other)
        .and_then(|text| std::fs::write(&path, text + "\n"));
    if let Err(err) = written {
        eprintln!("warning: cannot write {}: {err}", path.display());
    }
}
