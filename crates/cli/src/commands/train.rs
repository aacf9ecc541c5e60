//! `wgan train`: load the data, create or resume the run, train it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use wgan_data::ImageSet;
use wgan_eval::ClassifierSource;
use wgan_train::{
    Fingerprint, FollowerThreads, NodeSession, Run, RunConfig, RunDir, RunOutcome, check_replicas, fingerprint,
    join_nodes, start_replicas,
};

use crate::UserError;
use crate::args::TrainArgs;
use crate::commands::eval::quality_meter;
use crate::dataset::load_training_data;
use crate::device::{self, with_backend_devices};
use crate::progress::Progress;
use crate::settings::TrainSettings;

/// Exit code after Ctrl-C: the step was finished and checkpointed (128 + SIGINT).
pub const INTERRUPTED: u8 = 130;

/// Trains as configured (or resumes) and writes the run directory. Returns the exit code:
/// 0, or [`INTERRUPTED`] after Ctrl-C.
pub fn run(args: &TrainArgs) -> anyhow::Result<u8> {
    let settings = TrainSettings::resolve(args)?;
    if let Some(node) = settings.node.clone().filter(|node| node.rank > 0) {
        return crate::nodes::train_as_node(settings, &node);
    }
    let TrainSettings {
        config,
        run_dir,
        resume,
        devices,
        node,
    } = settings;
    let devices = device::select_replicas(&devices)?;
    let loaded = load_training_data(&config)?;
    let data = loaded.images;
    let data_report = loaded.report;
    let interrupted = Arc::new(AtomicBool::new(false));
    let mut progress = Progress::new(config.schedule.log_interval, Arc::clone(&interrupted));
    let root = run_dir.root().to_path_buf();
    let device_names: Vec<String> = devices.iter().map(ToString::to_string).collect();
    let outcome = with_backend_devices!(&devices, |B, handles| {
        // Refused before the run directory is made.
        check_replicas::<B>(&config, node.as_ref().map_or(handles.len(), |node| node.nodes))?;
        let handle = handles
            .first()
            .cloned()
            .ok_or_else(|| UserError("--devices: no device given".into()))?;
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
        // A new run's nodes agree before its directory is made; a resumed run's, once node 0
        // has found the checkpoint to start from.
        let print = node.as_ref().map(|_| fingerprint(&config, &data, 0));
        let distributed = config.distributed;
        let admit = |start_step: u64| match (&node, &print) {
            (Some(node), Some(print)) => {
                let print = Fingerprint {
                    start_step,
                    ..print.clone()
                };
                crate::nodes::admit_node(node, print, distributed).map(Some)
            }
            _ => Ok(None),
        };
        let early = if resume { None } else { admit(0)? };
        let (mut run, checkpoint) = start::<B>(resume, config, data, run_dir, handle)?;
        let admission = match early {
            Some(admission) => Some(admission),
            None => admit(run.step())?,
        };
        run.set_device(device_names.join(", "));
        write_data_report(&root, &data_report);
        if let Some(meter) = meter {
            run.set_quality_probe(Box::new(meter));
        }
        let parallel = match (admission, handles.len()) {
            (Some(admission), _) => {
                let device = handles
                    .first()
                    .cloned()
                    .ok_or_else(|| UserError("--device: no device given".into()))?;
                let session = join_nodes(run.engine_mut(), admission, device, device_names.join(", "))?;
                crate::nodes::restore_termination();
                describe_replicas(run.engine().config());
                Parallel::Nodes(session)
            }
            (None, 1) => Parallel::Alone,
            (None, _) => {
                let named: Vec<_> = handles.into_iter().zip(device_names.iter().cloned()).collect();
                let replicas = start_replicas(run.engine_mut(), &named, checkpoint.as_deref())?;
                describe_replicas(run.engine().config());
                watch(replicas.failures, root.clone());
                Parallel::Threads(replicas.threads)
            }
        };
        handle_interrupts(interrupted)?;
        let first_step = run.step();
        let outcome = run.run(&mut progress);
        if let Some(replica) = run.engine().replica() {
            let steps = run.step().saturating_sub(first_step).max(1);
            eprintln!(
                "data parallel: replica 0 all-reduced {:.2} MB per generator step",
                replica.bytes_exchanged() as f64 / steps as f64 / 1e6
            );
        }
        // The followers finish when the leader's engine is gone. After a failure they may
        // be waiting in an exchange the leader never joined: the process exits without them.
        drop(run);
        match (parallel, &outcome) {
            (Parallel::Threads(threads), Ok(_)) => threads.join()?,
            // After Ctrl-C the other nodes are in the next step: they stop when this
            // process ends, and say so.
            (Parallel::Nodes(session), Ok(RunOutcome::Finished)) => {
                if let Err(error) = session.leave() {
                    eprintln!("warning: the run is complete, but the nodes did not part cleanly: {error}");
                }
            }
            _ => {}
        }
        outcome?
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

/// How the run's replicas, if several, are started.
enum Parallel {
    /// One replica.
    Alone,
    /// Followers on threads of this process.
    Threads(FollowerThreads),
    /// Other processes.
    Nodes(NodeSession),
}

/// Ctrl-C asks the loop to finish its step and checkpoint; a second Ctrl-C kills at once.
/// Installed last, over any handler a library set up meanwhile (burn-collective's
/// orchestrator, on node 0).
fn handle_interrupts(interrupted: Arc<AtomicBool>) -> anyhow::Result<()> {
    ctrlc::set_handler(move || {
        if interrupted.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(INTERRUPTED));
        }
        eprintln!("\ninterrupted: finishing this step and writing a checkpoint (Ctrl-C again to quit now)");
    })
    .context("installing the Ctrl-C handler")
}

/// Says how the batch is shared between data-parallel replicas.
fn describe_replicas(config: &RunConfig) {
    let replicas = config.distributed.replicas;
    let batch_norm = match config.distributed.sync_batch_norm {
        true => "synchronised across replicas",
        false => "per replica (running averages averaged)",
    };
    eprintln!(
        "data parallel: {replicas} replicas, batch {} = {replicas} × {}; gradients averaged; BatchNorm {batch_norm}",
        config.data.batch_size,
        config.data.batch_size / replicas,
    );
}

/// A replica that fails leaves the others waiting in an exchange (burn-collective has no
/// timeouts): report it and exit, keeping the run's checkpoints as they are.
fn watch(failures: std::sync::mpsc::Receiver<String>, root: std::path::PathBuf) {
    std::thread::spawn(move || {
        if let Ok(message) = failures.recv() {
            eprintln!(
                "error: {message}\nstopping every replica; the checkpoints in {} are intact: continue with \
                 wgan train --resume {} --devices ...",
                root.join("checkpoints").display(),
                root.display()
            );
            // An internal failure, as exit code 2 means everywhere else.
            std::process::exit(2);
        }
    });
}

/// A new run in a fresh run directory, or the resumed one, with the checkpoint it resumed
/// from.
fn start<B: burn::tensor::backend::AutodiffBackend>(
    resume: bool,
    config: RunConfig,
    data: ImageSet,
    run_dir: RunDir,
    device: B::Device,
) -> anyhow::Result<(Run<B>, Option<std::path::PathBuf>)> {
    if !resume {
        let run_dir = RunDir::create(run_dir.root())?;
        eprintln!("run directory: {}", run_dir.root().display());
        let run = Run::create(config, data, run_dir, device)?;
        warn_stale_lock(&run);
        return Ok((run, None));
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
    Ok((resumed.run, resumed.checkpoint))
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
