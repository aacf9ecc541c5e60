//! Starting the replicas of a data-parallel run in one process, one thread per device.
//!
//! The followers' engines are built (from the run seed, or from the checkpoint the leader
//! resumed from) before any thread starts, so a bad checkpoint fails at once. Each
//! follower thread registers with burn-collective and then takes a step whenever the leader
//! announces one; the leader registers last (registration completes when every replica has
//! registered). When the leader's engine is dropped, the followers' step signal closes and
//! they finish. burn-collective has no timeouts: a replica that fails while the others wait
//! in an exchange leaves them waiting, so a follower's failure is sent to
//! [`Replicas::failures`] for the caller to act on (the CLI reports it and exits).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use burn::tensor::backend::AutodiffBackend;
use burn_collective::{CollectiveConfig, PeerId, register, reset_collective};
use wgan_data::ImageSet;

use super::Replica;
use crate::checkpoint::{read_checkpoint, restore};
use crate::{Engine, EngineState, RunConfig, TrainError};

/// The follower threads of a data-parallel run.
#[derive(Debug)]
pub struct Replicas {
    /// The follower threads; see [`FollowerThreads::join`].
    pub threads: FollowerThreads,
    /// Each follower that stops with an error (or panics) says why here, once.
    pub failures: Receiver<String>,
}

/// The follower threads of a data-parallel run.
#[derive(Debug)]
pub struct FollowerThreads(Vec<JoinHandle<Result<(), TrainError>>>);

impl FollowerThreads {
    /// Waits for every follower to finish (after the leader's engine is dropped) and
    /// returns the first error.
    pub fn join(self) -> Result<(), TrainError> {
        let mut first = Ok(());
        for (index, thread) in self.0.into_iter().enumerate() {
            let result = thread.join().unwrap_or_else(|_| {
                Err(TrainError::Replica {
                    rank: index + 1,
                    device: String::new(),
                    reason: "panicked".into(),
                })
            });
            if first.is_ok() {
                first = result;
            }
        }
        first
    }
}

/// Starts followers 1..N on `devices[1..]` (each `(handle, name)`) and makes `leader`, the
/// engine on `devices[0]`, replica 0. `checkpoint` is the checkpoint the leader resumed
/// from, or `None` for a run at step 0. Needs `config.distributed.replicas` devices.
pub fn start_replicas<B: AutodiffBackend>(
    leader: &mut Engine<B>,
    devices: &[(B::Device, String)],
    checkpoint: Option<&Path>,
) -> Result<Replicas, TrainError>
where
    B::Device: Send,
{
    let config = leader.config().clone();
    check_replicas::<B>(&config, devices.len())?;
    let replicas = config.distributed.replicas;
    let sync_batch_norm = config.distributed.sync_batch_norm;
    let followers: Vec<Engine<B>> = devices[1..]
        .iter()
        .map(|(handle, _)| follower_engine(&config, leader.data(), handle, checkpoint))
        .collect::<Result<_, _>>()?;
    reset_collective::<B::InnerBackend>();
    let (failures_in, failures) = channel();
    let mut signals = Vec::new();
    let mut threads = Vec::new();
    for (index, engine) in followers.into_iter().enumerate() {
        let rank = index + 1;
        let (handle, name) = devices[rank].clone();
        let replica =
            Replica::new::<B::InnerBackend>(rank, replicas, name.clone(), handle.clone(), sync_batch_norm, None);
        let (signal, steps) = sync_channel(1);
        signals.push((signal, name));
        let failures_in = failures_in.clone();
        threads.push(std::thread::spawn(move || {
            follow(engine, replica, handle, steps, failures_in)
        }));
    }
    let (handle, name) = devices[0].clone();
    let mut replica = Replica::new::<B::InnerBackend>(0, replicas, name, handle.clone(), sync_batch_norm, None);
    // Registration completes when every replica has registered: wait for it on another
    // thread, so that a follower that fails first is reported instead of waited for.
    let (registered_in, registered) = channel();
    std::thread::spawn(move || {
        let result = register::<B::InnerBackend>(PeerId::from(0usize), handle, collective_config(replicas));
        let _ = registered_in.send(result);
    });
    loop {
        match registered.recv_timeout(Duration::from_millis(20)) {
            Ok(result) => {
                result.map_err(|error| replica.error(format!("cannot join the other replicas: {error:?}")))?;
                break;
            }
            Err(RecvTimeoutError::Timeout) => {
                if let Ok(message) = failures.try_recv() {
                    return Err(replica.error(format!("a replica failed before all had joined: {message}")));
                }
            }
            Err(RecvTimeoutError::Disconnected) => return Err(replica.error("registration ended without a result")),
        }
    }
    replica.followers = signals;
    leader.set_replica(replica);
    Ok(Replicas {
        threads: FollowerThreads(threads),
        failures,
    })
}

/// Whether `config` can train on `devices` devices of backend `B`: one device per replica,
/// and synchronised BatchNorm only where the backend has it (the CPU). Callers can ask this
/// before they create anything; [`start_replicas`] asks it too.
pub fn check_replicas<B: AutodiffBackend>(config: &RunConfig, devices: usize) -> Result<(), TrainError> {
    let replicas = config.distributed.replicas;
    if devices != replicas {
        return Err(TrainError::Distributed {
            field: "distributed.replicas".into(),
            reason: format!(
                "the run has {replicas} replicas, but {devices} devices were given; give one device per replica"
            ),
        });
    }
    if replicas > 1 && config.distributed.sync_batch_norm && !wgan_ops::synchronised_batch_norm_supported::<B>() {
        return Err(TrainError::Distributed {
            field: "distributed.sync_batch_norm".into(),
            reason: "synchronised BatchNorm runs on the CPU backend only; set it to false \
                     (--set distributed.sync_batch_norm=false) for per-replica statistics on these devices"
                .into(),
        });
    }
    Ok(())
}

fn collective_config(replicas: usize) -> CollectiveConfig {
    CollectiveConfig::default().with_num_devices(replicas)
}

/// A follower's engine: the run's state at step 0, or restored from `checkpoint`.
fn follower_engine<B: AutodiffBackend>(
    config: &RunConfig,
    data: &ImageSet,
    device: &B::Device,
    checkpoint: Option<&Path>,
) -> Result<Engine<B>, TrainError> {
    let Some(path) = checkpoint else {
        return Engine::new(config.clone(), data.clone(), device.clone());
    };
    let template = EngineState::initial(config, data.len(), device)?;
    let loaded = read_checkpoint(path, &config.model).map_err(|error| TrainError::NoCheckpoint {
        path: path.to_path_buf(),
        tried: vec![error.to_string()],
    })?;
    let (state, _) =
        restore(loaded, template, config, data.len(), device).map_err(|error| TrainError::NoCheckpoint {
            path: path.to_path_buf(),
            tried: vec![error.to_string()],
        })?;
    Engine::from_state(config.clone(), data.clone(), device.clone(), state)
}

/// A follower's thread: registers, then steps whenever the leader says so, until the
/// leader's signal closes. A failure or panic is also sent to `failures`.
fn follow<B: AutodiffBackend>(
    mut engine: Engine<B>,
    replica: Replica,
    handle: B::Device,
    steps: Receiver<()>,
    failures: Sender<String>,
) -> Result<(), TrainError> {
    let panicked = replica.error("panicked");
    let label = replica.label();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        register::<B::InnerBackend>(
            PeerId::from(replica.rank()),
            handle,
            collective_config(replica.replicas()),
        )
        .map_err(|error| replica.error(format!("cannot join the other replicas: {error:?}")))?;
        engine.set_replica(replica);
        while steps.recv().is_ok() {
            engine.train_step()?;
        }
        Ok(())
    }));
    let result = outcome.unwrap_or(Err(panicked));
    if let Err(error) = &result {
        let message = match error {
            TrainError::Replica { .. } => error.to_string(),
            other => format!("{label}: {other}"),
        };
        // The receiver may be gone when the run has ended; nothing is waiting then.
        let _ = failures.send(message);
    }
    result
}
