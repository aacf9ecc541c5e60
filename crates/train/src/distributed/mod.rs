//! Data-parallel training: one replica of the engine per device, each on its share of every
//! batch, kept identical through burn-collective.
//!
//! Every replica draws the whole batch from the run's host streams (data order, z, ε) and
//! keeps the rows of its rank, so a run on N replicas is a function of its config and N.
//! Before each optimizer step the critic's and the generator's gradients are averaged
//! across replicas (an all-reduce, mean); each replica's loss is the mean over its share, so
//! the average is the whole batch's gradient. Penalties are per sample and need nothing
//! more. BatchNorm is synchronised (the CPU kernel sums its moments across replicas,
//! `wgan_ops::synchronise_batch_norm`), or else per replica with the running averages
//! averaged after every generator step. The logged values are averaged too, in the one
//! device read of the step.
//!
//! Replica 0, the leader, runs inside the [`Run`](crate::Run) and writes everything; it
//! tells the followers to take each step, so that they stop with it. See `launch.rs` for
//! how the replicas start ([`start_replicas`]).

mod launch;
mod nodes;
mod reduce;

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};

use burn::tensor::backend::Backend;
use wgan_ops::{MomentReducer, SynchronisedBatchNorm, synchronise_batch_norm};

use crate::TrainError;

pub use launch::{FollowerThreads, Replicas, check_replicas, start_replicas};
use nodes::NodeLink;
pub use nodes::{Admission, Fingerprint, NodeSession, NodeSpec, admit, fingerprint, join_nodes, node_engine};

/// One replica's place in a data-parallel run.
#[derive(Debug)]
pub struct Replica {
    replicas: usize,
    /// The device, as reported.
    device: String,
    /// Sums BatchNorm moments across replicas; `None` when BatchNorm is per replica.
    batch_norm: Option<MomentReducer>,
    /// The first failure of an exchange made inside a kernel, which cannot return errors.
    failure: Arc<Mutex<Option<String>>>,
    /// The leader's signal to each follower to take one step, with the follower's device.
    followers: Vec<(SyncSender<()>, String)>,
    /// Where its all-reduces go (its rank is its burn-collective peer id), and their bytes.
    exchange: reduce::Exchange,
}

impl Replica {
    /// Replica `rank` of `replicas` on `device` (`B`'s device `handle`), registered with
    /// burn-collective as peer `rank`, in this process or (with `link`) across processes;
    /// with `sync_batch_norm`, its BatchNorm moments are summed across replicas.
    fn new<B: Backend>(
        rank: usize,
        replicas: usize,
        device: String,
        handle: B::Device,
        sync_batch_norm: bool,
        link: Option<Arc<NodeLink>>,
    ) -> Self {
        let failure = Arc::new(Mutex::new(None));
        let exchange = reduce::Exchange {
            rank,
            link,
            exchanged: Arc::new(AtomicU64::new(0)),
        };
        let batch_norm =
            sync_batch_norm.then(|| reduce::moment_reducer::<B>(exchange.clone(), handle, Arc::clone(&failure)));
        Self {
            replicas,
            device,
            batch_norm,
            failure,
            followers: Vec::new(),
            exchange,
        }
    }

    /// This replica's rank; 0 writes the run.
    pub fn rank(&self) -> usize {
        self.exchange.rank
    }

    /// Replicas in the run.
    pub fn replicas(&self) -> usize {
        self.replicas
    }

    /// Bytes this replica has passed to all-reduces so far: gradients, logged values,
    /// BatchNorm moments and running averages.
    pub fn bytes_exchanged(&self) -> u64 {
        self.exchange.exchanged.load(Ordering::Relaxed)
    }

    /// The rows of a batch of `batch_size` this replica trains on.
    pub fn shard(&self, batch_size: usize) -> Range<usize> {
        let share = batch_size / self.replicas;
        self.rank() * share..(self.rank() + 1) * share
    }

    /// While the guard lives, this thread's training-mode BatchNorm spans every replica
    /// (with synchronised BatchNorm).
    pub(crate) fn synchronise_batch_norm(&self) -> Option<SynchronisedBatchNorm> {
        self.batch_norm.clone().map(synchronise_batch_norm)
    }

    /// Whether BatchNorm statistics are per replica (and the running averages need
    /// averaging).
    pub(crate) fn batch_norm_per_replica(&self) -> bool {
        self.batch_norm.is_none()
    }

    /// The leader: tells every follower to take the next step. Fails if one has stopped.
    pub(crate) fn announce_step(&self) -> Result<(), TrainError> {
        for (index, (follower, device)) in self.followers.iter().enumerate() {
            follower.send(()).map_err(|_| TrainError::Replica {
                rank: index + 1,
                device: device.clone(),
                reason: "stopped; the others cannot go on without it".into(),
            })?;
        }
        Ok(())
    }

    /// Fails with the first exchange that failed inside a kernel since the last call.
    pub(crate) fn check_exchanges(&self) -> Result<(), TrainError> {
        let failed = self.failure.lock().map(|mut slot| slot.take()).unwrap_or(None);
        match failed {
            Some(reason) => Err(self.error(reason)),
            None => Ok(()),
        }
    }

    /// `replica RANK (DEVICE)`, as errors name it.
    pub fn label(&self) -> String {
        format!("replica {} ({})", self.rank(), self.device)
    }

    /// An error of this replica.
    pub(crate) fn error(&self, reason: impl Into<String>) -> TrainError {
        TrainError::Replica {
            rank: self.rank(),
            device: self.device.clone(),
            reason: reason.into(),
        }
    }
}
