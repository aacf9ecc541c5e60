//! The nodes' rendezvous, hosted by node 0 next to burn-collective's orchestrator: it admits
//! the nodes (refusing mismatched ones), holds the barrier between burn-collective sessions,
//! and tells every node at once when another one's process ends. It carries no tensors.
//!
//! Each node keeps one TCP connection to it and speaks JSON lines ([`Message`]). A node whose
//! connection closes without a [`Message::Bye`] is gone, and the others hear of it.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// What identifies a run across nodes: every node must bring the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// SHA-256 of the resolved config, as TOML.
    pub config: String,
    /// Image count, shape and CRC-32C of the training images.
    pub data: String,
    /// The step training starts from (0, or the checkpoint's).
    pub start_step: u64,
}

impl Fingerprint {
    /// Why `other` (node `rank`'s) cannot train with this one (node 0's), if it cannot.
    pub(super) fn mismatch(&self, rank: usize, other: &Self) -> Option<String> {
        if self.config != other.config {
            return Some(format!(
                "node {rank}'s config differs from node 0's (config SHA-256 {} against {}): start every \
                 node with the same config file, --set options, --seed and --steps",
                short(&other.config),
                short(&self.config)
            ));
        }
        if self.data != other.data {
            return Some(format!(
                "node {rank}'s training images differ from node 0's ({} against {})",
                other.data, self.data
            ));
        }
        if self.start_step != other.start_step {
            return Some(format!(
                "node {rank} starts at step {} but node 0 at step {}: resume every node from the same run \
                 directory",
                other.start_step, self.start_step
            ));
        }
        None
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// One line between a node and the coordinator.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) enum Message {
    /// Node → coordinator, first: who it is, what it trains, where its data service listens.
    Hello {
        rank: usize,
        nodes: usize,
        fingerprint: Fingerprint,
        address: String,
    },
    /// Coordinator → every node, once all have said hello and agree: each node's address.
    Welcome { addresses: Vec<String> },
    /// Coordinator → node: the run cannot start, and why.
    Refused { reason: String },
    /// Node → coordinator: arrived at barrier `round`.
    Barrier { round: u64 },
    /// Coordinator → every node: all arrived at barrier `round`.
    Go { round: u64 },
    /// Coordinator → every node: node `rank` is gone.
    Gone { rank: usize, reason: String },
    /// Node → coordinator: leaving after the run; its connection closing is no failure.
    Bye,
}

/// Writes `message` as one line.
pub(super) fn send(stream: &mut TcpStream, message: &Message) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)
}

/// Reads one message; `Ok(None)` at the end of the stream.
pub(super) fn receive(reader: &mut impl BufRead) -> std::io::Result<Option<Message>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    serde_json::from_str(&line)
        .map(Some)
        .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))
}

/// What the coordinator knows.
#[derive(Default)]
struct State {
    /// Each node's connection, once it has said hello, by rank.
    writers: BTreeMap<usize, TcpStream>,
    hellos: HashMap<usize, (Fingerprint, String)>,
    /// Whether the nodes were admitted (or refused: then nothing more happens).
    settled: bool,
    arrived: HashMap<u64, usize>,
    leaving: Vec<usize>,
}

impl State {
    /// Sends `message` to every node, node 0 last: it shares this process, which may end
    /// as soon as node 0 has read the message.
    fn broadcast(&mut self, message: &Message) {
        for stream in self.writers.values_mut().rev() {
            // A node that cannot be written to is gone; its reader reports that.
            let _ = send(stream, message);
        }
    }
}

/// Serves `nodes` nodes on `listener` from background threads, until the process ends.
/// Nodes that have not all joined by `join_deadline` are refused, with the missing named.
pub(super) fn serve(listener: TcpListener, nodes: usize, join_deadline: Instant) {
    let state = Arc::new(Mutex::new(State::default()));
    let timer = Arc::clone(&state);
    std::thread::spawn(move || {
        std::thread::sleep(join_deadline.saturating_duration_since(Instant::now()));
        let Ok(mut state) = timer.lock() else { return };
        if !state.settled {
            state.settled = true;
            let missing: Vec<String> = (0..nodes)
                .filter(|rank| !state.hellos.contains_key(rank))
                .map(|rank| rank.to_string())
                .collect();
            state.broadcast(&Message::Refused {
                reason: format!("node(s) {} did not join in time", missing.join(", ")),
            });
        }
    });
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let state = Arc::clone(&state);
            std::thread::spawn(move || serve_node(stream, nodes, &state));
        }
    });
}

/// One node's connection: its hello, then its barriers, until it leaves or is gone.
fn serve_node(stream: TcpStream, nodes: usize, state: &Mutex<State>) {
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    let Ok(Some(Message::Hello {
        rank,
        nodes: their_nodes,
        fingerprint,
        address,
    })) = receive(&mut reader)
    else {
        return;
    };
    {
        let Ok(mut state) = state.lock() else { return };
        let refusal = if their_nodes != nodes {
            Some(format!(
                "node {rank} was started with --nodes {their_nodes}, node 0 with {nodes}"
            ))
        } else if rank >= nodes {
            Some(format!(
                "node rank {rank} is out of range for {nodes} nodes (0 to {})",
                nodes - 1
            ))
        } else if state.hellos.contains_key(&rank) {
            Some(format!("two nodes were started with --node-rank {rank}"))
        } else if state.settled {
            Some(format!("node {rank} came after the run had started or was refused"))
        } else {
            None
        };
        if let Some(reason) = refusal {
            let _ = send(&mut writer, &Message::Refused { reason });
            return;
        }
        state.hellos.insert(rank, (fingerprint, address));
        state.writers.insert(rank, writer);
        if state.hellos.len() == nodes {
            state.settled = true;
            let admitted = admit(&state.hellos, nodes);
            state.broadcast(&admitted);
        }
    }
    loop {
        let message = receive(&mut reader);
        let Ok(mut state) = state.lock() else { return };
        match message {
            Ok(Some(Message::Barrier { round })) => {
                let arrived = state.arrived.entry(round).or_insert(0);
                *arrived += 1;
                if *arrived == nodes {
                    state.arrived.remove(&round);
                    state.broadcast(&Message::Go { round });
                }
            }
            Ok(Some(Message::Bye)) => state.leaving.push(rank),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => {
                state.writers.remove(&rank);
                if !state.leaving.contains(&rank) {
                    let reason = "its process ended or its connection broke".to_string();
                    state.broadcast(&Message::Gone { rank, reason });
                }
                return;
            }
        }
    }
}

/// Welcome, with every node's address, if every node's fingerprint matches node 0's.
fn admit(hellos: &HashMap<usize, (Fingerprint, String)>, nodes: usize) -> Message {
    let reference = &hellos[&0].0;
    let refusal = (1..nodes).find_map(|rank| reference.mismatch(rank, &hellos[&rank].0));
    match refusal {
        Some(reason) => Message::Refused { reason },
        None => Message::Welcome {
            addresses: (0..nodes).map(|rank| hellos[&rank].1.clone()).collect(),
        },
    }
}

/// Connects to the coordinator at `address` (`host:port`), retrying until `deadline`.
pub(super) fn connect(address: &str, deadline: Instant) -> Result<TcpStream, String> {
    loop {
        match TcpStream::connect(address) {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(error) if Instant::now() >= deadline => {
                return Err(format!(
                    "cannot reach the orchestrator at {address} (node 0 hosts it): {error}; start node 0, \
                     or check --master-addr and --port"
                ));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}
