//! Data-parallel training across processes, on one machine or several: one replica per
//! process (a "node"), joined through burn-collective's global orchestrator.
//!
//! Node 0 hosts, from `--port` P up: wgan's coordinator on P (admission, barriers, gone
//! nodes; `coordinator.rs`) and burn-collective's orchestrator on P + 1. Node r serves its
//! tensors on P + 2 + r. Every node brings a [`Fingerprint`] of its config, data and start
//! step; node 0 refuses the run unless all match. Gradients, logged values and BatchNorm
//! moments then go through burn-collective's global all-reduce (`link.rs`).

mod coordinator;
mod link;

use std::net::TcpListener;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use burn::tensor::backend::AutodiffBackend;
use burn_collective::{CollectiveConfig, PeerId, finish_collective, register, reset_collective};
use burn_communication::Address;
use sha2::{Digest, Sha256};
use wgan_data::{ImageSet, Pixels};

pub use coordinator::Fingerprint;
pub(crate) use link::NodeLink;

use super::Replica;
use super::launch::check_replicas;
use crate::checkpoint::restore_newest;
use crate::{Engine, RunConfig, RunDir, TrainError};

/// This process's place in a multi-node run (`wgan train --nodes N --node-rank R
/// --master-addr HOST --port P`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    /// Processes in the run, one replica each.
    pub nodes: usize,
    /// This process's rank, 0 to `nodes − 1`; node 0 writes the run.
    pub rank: usize,
    /// The host of node 0, as the other nodes reach it.
    pub master_addr: String,
    /// The first of node 0's ports; the run uses P to P + 1 + `nodes`.
    pub port: u16,
}

impl NodeSpec {
    /// Checks the rank and that every port of the run fits below 65536.
    pub fn validate(&self) -> Result<(), TrainError> {
        let error = |field: &str, reason: String| TrainError::Distributed {
            field: field.into(),
            reason,
        };
        if self.nodes < 2 {
            return Err(error(
                "--nodes",
                format!("a multi-node run needs at least 2 nodes, got {}", self.nodes),
            ));
        }
        if self.rank >= self.nodes {
            return Err(error(
                "--node-rank",
                format!("must be below --nodes ({}), got {}", self.nodes, self.rank),
            ));
        }
        if self.port == 0 {
            return Err(error("--port", "must be a port number from 1 to 65535, got 0".into()));
        }
        let last = usize::from(self.port) + 1 + self.nodes;
        if last > usize::from(u16::MAX) {
            return Err(error(
                "--port",
                format!(
                    "the run would use ports {} to {last}, past 65535: choose a lower --port",
                    self.port
                ),
            ));
        }
        Ok(())
    }

    fn coordinator_address(&self) -> String {
        format!("{}:{}", self.master_addr, self.port)
    }

    /// The port node `rank` serves its tensors on.
    fn data_port(&self, rank: usize) -> u16 {
        // validate() keeps every rank's port in range.
        self.port
            .saturating_add(2)
            .saturating_add(u16::try_from(rank).unwrap_or(u16::MAX))
    }
}

/// A joined node's hold on the run: leave it after the last step.
#[derive(Debug)]
pub struct NodeSession {
    link: Arc<NodeLink>,
    rank: usize,
}

impl NodeSession {
    /// Ends the session together with the other nodes; node 0 returns last.
    pub fn leave(self) -> Result<(), TrainError> {
        self.link.leave().map_err(|reason| TrainError::Replica {
            rank: self.rank,
            device: String::new(),
            reason,
        })
    }
}

/// A node admitted to a multi-node run: every node has joined and brought the same
/// [`Fingerprint`]. [`join_nodes`] then makes an engine its replica.
#[derive(Debug)]
pub struct Admission {
    spec: NodeSpec,
    coordinator: link::CoordinatorLink,
    data_address: String,
    settings: crate::DistributedConfig,
}

/// Joins the run of `spec` with `fingerprint` (of the run's config, data and start step)
/// and waits, at most `settings.join_timeout_s`, until every node has joined and agrees.
/// Node 0 starts the coordinator and burn-collective's orchestrator first.
pub fn admit(
    spec: &NodeSpec,
    fingerprint: Fingerprint,
    settings: crate::DistributedConfig,
) -> Result<Admission, TrainError> {
    spec.validate()?;
    let deadline = Instant::now() + Duration::from_secs_f64(settings.join_timeout_s);
    // Failing to join is the user's to fix: an address, a port, a config.
    let failed = |reason: String| TrainError::Distributed {
        field: format!("node {}", spec.rank),
        reason,
    };
    if spec.rank == 0 {
        let listener = bind(spec.port, "the coordinator")?;
        coordinator::serve(listener, spec.nodes, deadline);
        start_orchestrator(bind(spec.port + 1, "burn-collective's orchestrator")?);
    }
    // Free the data port's check before burn-collective binds it (it would fail silently).
    drop(bind(spec.data_port(spec.rank), "this node's data service")?);
    let address = spec.coordinator_address();
    let stream = coordinator::connect(&address, deadline).map_err(failed)?;
    // This node's address as node 0 sees it: the interface that reached it.
    let host = stream
        .local_addr()
        .map_err(|error| failed(format!("no local address: {error}")))?
        .ip();
    let data_address = format!("ws://{host}:{}", spec.data_port(spec.rank));
    let hello = coordinator::Message::Hello {
        rank: spec.rank,
        nodes: spec.nodes,
        fingerprint,
        address: data_address.clone(),
    };
    let coordinator = link::CoordinatorLink::join(stream, &hello, &address, deadline).map_err(failed)?;
    Ok(Admission {
        spec: spec.clone(),
        coordinator,
        data_address,
        settings,
    })
}

/// Makes `engine` (on `device`, named `device_name`) the replica of the admitted node,
/// once every node has registered with burn-collective.
pub fn join_nodes<B: AutodiffBackend>(
    engine: &mut Engine<B>,
    admission: Admission,
    device: B::Device,
    device_name: String,
) -> Result<NodeSession, TrainError>
where
    B::Device: Send + Sync,
{
    let Admission {
        spec,
        coordinator,
        data_address,
        settings,
    } = admission;
    check_replicas::<B>(engine.config(), spec.nodes)?;
    let failed = |reason: String| TrainError::Replica {
        rank: spec.rank,
        device: device_name.clone(),
        reason,
    };
    let collective = collective_config(&spec, &data_address).map_err(failed)?;
    let peer = PeerId::from(spec.rank);
    let registered = device.clone();
    let link = Arc::new(NodeLink::new(
        spec.rank,
        spec.nodes,
        Arc::new(coordinator),
        Box::new(move || {
            finish_collective::<B::InnerBackend>(peer).map_err(|error| format!("cannot end the session: {error:?}"))
        }),
        Box::new(move || {
            register::<B::InnerBackend>(peer, registered.clone(), collective.clone())
                .map_err(|error| format!("cannot join the other nodes: {error:?}"))
        }),
        Duration::from_secs_f64(settings.timeout_s),
    ));
    reset_collective::<B::InnerBackend>();
    link.register().map_err(failed)?;
    let replica = Replica::new::<B::InnerBackend>(
        spec.rank,
        spec.nodes,
        device_name,
        device,
        engine.config().distributed.sync_batch_norm,
        Some(Arc::clone(&link)),
    );
    engine.set_replica(replica);
    Ok(NodeSession { link, rank: spec.rank })
}

/// The engine of a node other than 0: at step 0, or from the newest checkpoint of the run
/// directory `resume` that loads (as node 0 resumes).
pub fn node_engine<B: AutodiffBackend>(
    config: &RunConfig,
    data: ImageSet,
    device: &B::Device,
    resume: Option<&Path>,
) -> Result<Engine<B>, TrainError> {
    let restored = match resume {
        Some(run) => restore_newest(&RunDir::new(run).checkpoints_dir(), config, data.len(), device)?.0,
        None => None,
    };
    match restored {
        Some(restored) => Engine::from_state(config.clone(), data, device.clone(), restored.state),
        None => Engine::new(config.clone(), data, device.clone()),
    }
}

fn bind(port: u16, what: &str) -> Result<TcpListener, TrainError> {
    TcpListener::bind(("0.0.0.0", port)).map_err(|error| TrainError::Distributed {
        field: "--port".into(),
        reason: format!("cannot listen on port {port} for {what}: {error}; choose another --port"),
    })
}

/// Runs burn-collective's orchestrator on `listener`'s port, on a thread of its own.
fn start_orchestrator(listener: TcpListener) {
    let port = listener.local_addr().map(|address| address.port()).unwrap_or(0);
    drop(listener);
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build();
        if let Ok(runtime) = runtime {
            runtime.block_on(burn_collective::start_global_orchestrator(port));
        }
    });
}

fn collective_config(spec: &NodeSpec, data_address: &str) -> Result<CollectiveConfig, String> {
    let address = |text: String| Address::from_str(&text).map_err(|error| format!("bad address {text}: {error:?}"));
    Ok(CollectiveConfig::default()
        .with_num_devices(1)
        .with_num_nodes(u32::try_from(spec.nodes).map_err(|_| "too many nodes".to_string())?)
        .with_global_address(address(format!("ws://{}:{}", spec.master_addr, spec.port + 1))?)
        .with_node_address(address(data_address.to_string())?)
        .with_data_service_port(spec.data_port(spec.rank)))
}

/// What every node must agree on: the config, the training images and the start step. The
/// data's paths are left out of the config's hash (each machine may keep the data, cache and
/// classifier elsewhere); the images themselves are compared by content.
pub fn fingerprint(config: &RunConfig, data: &ImageSet, start_step: u64) -> Fingerprint {
    let mut shared = config.clone();
    shared.data.path = None;
    shared.data.cache_dir = None;
    shared.data.classifier = None;
    let config_hash = Sha256::digest(shared.to_toml().as_bytes());
    let pixels = match data.pixels() {
        Pixels::Unit(values) => values.chunks(1 << 14).fold(0, |crc, chunk| {
            let bytes: Vec<u8> = chunk.iter().flat_map(|value| value.to_le_bytes()).collect();
            crc32c::crc32c_append(crc, &bytes)
        }),
        Pixels::Bytes(bytes) => crc32c::crc32c(bytes),
    };
    Fingerprint {
        config: config_hash.iter().map(|byte| format!("{byte:02x}")).collect(),
        data: format!(
            "{} images of {}×{}×{}, CRC-32C {pixels:08x}",
            data.len(),
            data.channels(),
            data.size(),
            data.size()
        ),
        start_step,
    }
}

#[cfg(test)]
mod tests {
    use wgan_model::Variant;

    use super::*;

    fn images(first: u8) -> ImageSet {
        let pixels = Pixels::Bytes(vec![first, 1, 2, 3, 4, 5, 6, 7]);
        ImageSet::new(pixels, vec![0, 1], 1, 2).unwrap()
    }

    /// Nodes may keep the data elsewhere, but must train the same config on the same images
    /// from the same step; the refusal names what differs.
    /// `--nodes`, `--node-rank` and `--port` out of range are refused by name.
    #[test]
    fn node_specs_out_of_range_are_refused() {
        let spec = |nodes, rank, port| NodeSpec {
            nodes,
            rank,
            master_addr: "127.0.0.1".into(),
            port,
        };
        assert!(spec(2, 1, 29500).validate().is_ok());
        for (bad, field) in [
            (spec(0, 0, 29500), "--nodes"),
            (spec(1, 0, 29500), "--nodes"),
            (spec(2, 2, 29500), "--node-rank"),
            (spec(2, 0, 0), "--port"),
            (spec(4, 0, 65532), "--port"),
        ] {
            let error = bad.validate().unwrap_err().to_string();
            assert!(error.starts_with(field), "{error}");
        }
    }

    #[test]
    fn fingerprints_ignore_data_paths_and_name_what_differs() {
        let config = RunConfig::preset(Variant::WganGp);
        let mut moved = config.clone();
        moved.data.path = Some("/elsewhere/fashion-mnist".into());
        moved.data.cache_dir = Some("/scratch/cache".into());
        let reference = fingerprint(&config, &images(0), 0);
        assert_eq!(fingerprint(&moved, &images(0), 0), reference);

        let mut reseeded = config.clone();
        reseeded.seed += 1;
        let cases = [
            (fingerprint(&reseeded, &images(0), 0), "config differs"),
            (fingerprint(&config, &images(9), 0), "training images differ"),
            (fingerprint(&config, &images(0), 100), "starts at step 100"),
        ];
        for (other, expected) in cases {
            let refusal = reference.mismatch(1, &other).unwrap();
            assert!(refusal.starts_with("node 1") && refusal.contains(expected), "{refusal}");
        }
        assert!(reference.mismatch(1, &reference).is_none());
    }
}
