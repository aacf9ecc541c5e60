//! `wgan train --nodes N`: the command-line side of a multi-node run, where each process is
//! one data-parallel replica and node 0 writes the run.

use clap::Args;
use wgan_train::{
    Admission, DistributedConfig, Fingerprint, NodeSpec, admit, check_replicas, fingerprint, join_nodes, node_engine,
};

use crate::UserError;
use crate::dataset::load_training_data;
use crate::device::{self, with_backend_devices};
use crate::settings::TrainSettings;

/// Where this process stands among the processes of a multi-node run.
#[derive(Debug, Clone, Args)]
pub struct NodeArgs {
    /// Processes in a multi-node run, one device each (its --device), joined through node
    /// 0: run the same command on every node with its own --node-rank. Sets
    /// distributed.replicas. Default 1: this process alone.
    #[arg(long, env = "WGAN_NODES", default_value_t = 1, value_name = "N")]
    pub nodes: usize,
    /// This process's rank, 0 to N − 1. Node 0 writes the run directory and hosts the
    /// orchestrator; the others only train.
    #[arg(long, env = "WGAN_NODE_RANK", default_value_t = 0, value_name = "R")]
    pub node_rank: usize,
    /// Node 0's host name or address, as the other nodes reach it.
    #[arg(long, env = "WGAN_MASTER_ADDR", default_value = "127.0.0.1", value_name = "HOST")]
    pub master_addr: String,
    /// Node 0's first port: it listens on PORT and PORT + 1, node r on PORT + 2 + r.
    #[arg(long, env = "WGAN_MASTER_PORT", default_value_t = 29500, value_name = "PORT")]
    pub port: u16,
}

impl NodeArgs {
    /// The node's place in a multi-node run; `None` for a run of one process (the
    /// defaults). Any other `--nodes` or `--node-rank` is one, checked by
    /// [`NodeSpec::validate`].
    pub fn spec(&self) -> Option<NodeSpec> {
        (self.nodes != 1 || self.node_rank > 0).then(|| NodeSpec {
            nodes: self.nodes,
            rank: self.node_rank,
            master_addr: self.master_addr.clone(),
            port: self.port,
        })
    }
}

/// Keeps burn-collective's own reporting off the terminal in a multi-node run: it logs
/// through `tracing` at info level at every exchange, and its server tasks panic on
/// connections that other nodes close (its runtime threads are named `tokio-…`). wgan reports
/// every failure itself.
pub fn quiet_burn_collective() {
    let _ = tracing::subscriber::set_global_default(tracing::subscriber::NoSubscriber::default());
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let runtime = std::thread::current()
            .name()
            .is_some_and(|name| name.starts_with("tokio-"));
        if !runtime {
            report(info);
        }
    }));
}

/// Joins the multi-node run as `node` with the run's `distributed` settings, bringing `print`
/// (the run's config, data and start step); returns once every node has joined and agrees.
pub fn admit_node(node: &NodeSpec, print: Fingerprint, distributed: DistributedConfig) -> anyhow::Result<Admission> {
    quiet_burn_collective();
    match node.rank {
        0 => eprintln!(
            "node 0 of {}: waiting for the other nodes on port {}",
            node.nodes, node.port
        ),
        rank => eprintln!(
            "node {rank} of {}: joining node 0 at {}:{}",
            node.nodes, node.master_addr, node.port
        ),
    }
    Ok(admit(node, print, distributed)?)
}

/// Gives SIGTERM its default action back: burn-collective's orchestrator, on node 0, takes
/// it over to stop itself, which would leave the process running without it (as when a
/// batch system ends the job).
pub fn restore_termination() {
    // SAFETY: SIG_DFL installs no handler code.
    unsafe {
        libc::signal(libc::SIGTERM, libc::SIG_DFL);
    }
}

/// A node other than 0: trains its share of every step with the others and writes nothing;
/// node 0 writes the run. Returns the exit code.
pub fn train_as_node(settings: TrainSettings, node: &NodeSpec) -> anyhow::Result<u8> {
    let devices = device::select_replicas(&settings.devices)?;
    let config = settings.config;
    let data = load_training_data(&config)?.images;
    let resume = settings.resume.then(|| settings.run_dir.root().to_path_buf());
    let device_name = devices.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    let rank = node.rank;
    with_backend_devices!(&devices, |B, handles| {
        check_replicas::<B>(&config, node.nodes)?;
        let handle = handles
            .first()
            .cloned()
            .ok_or_else(|| UserError("--device: no device given".into()))?;
        let mut print = fingerprint(&config, &data, 0);
        let mut engine = node_engine::<B>(&config, data, &handle, resume.as_deref())?;
        print.start_step = engine.step();
        let admission = admit_node(node, print, config.distributed)?;
        let session = join_nodes(&mut engine, admission, handle, device_name)?;
        restore_termination();
        let steps = config.schedule.steps;
        eprintln!("node {rank}: joined; training steps {} to {steps}", engine.step() + 1);
        while engine.step() < steps {
            let metrics = engine.train_step()?;
            if metrics.step.is_multiple_of(config.schedule.log_interval) || metrics.step == steps {
                eprintln!(
                    "node {rank}: step {}/{steps}  critic loss {:.4}  generator loss {:.4}",
                    metrics.step, metrics.critic_loss, metrics.generator_loss
                );
            }
        }
        if let Err(error) = session.leave() {
            eprintln!("warning: the run is complete, but the nodes did not part cleanly: {error}");
        }
        eprintln!("node {rank}: done; node 0 wrote the run");
    });
    Ok(0)
}
