//! One node's link to the others: its burn-collective session, driven from a worker thread
//! so that no exchange waits forever, and its connection to the coordinator.
//!
//! burn-collective's calls block until every node has made them, and have no timeout. The
//! worker thread makes them; the caller waits in short ticks, and stops with an error when
//! a node is gone, the session broke, or `distributed.timeout_s` passed. (The vendored
//! burn-collective carries a fix that lets one session hold any number of all-reduces.)

use std::io::BufReader;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorPrimitive};
use burn_collective::{PeerId, ReduceOperation, all_reduce};

use super::coordinator::{Message, receive, send};

/// How often a waiting exchange looks for a gone node.
const TICK: Duration = Duration::from_millis(50);

/// How long a failed exchange waits for the coordinator to say which node is gone.
const GONE_NOTICE: Duration = Duration::from_secs(2);

/// The barrier round of the nodes' last meeting, after their sessions have ended.
const LAST_ROUND: u64 = u64::MAX;

/// A unit of work for the worker thread.
type Job = Box<dyn FnOnce() + Send>;

/// A step of the burn-collective session (register or finish), for the backend at hand.
pub(super) type SessionStep = Box<dyn Fn() -> Result<(), String> + Send + Sync>;

/// A node's link to the other nodes.
pub(crate) struct NodeLink {
    rank: usize,
    nodes: usize,
    jobs: Mutex<Sender<Job>>,
    /// Why the session cannot be used any more.
    broken: Arc<Mutex<Option<String>>>,
    coordinator: Arc<CoordinatorLink>,
    finish: Arc<SessionStep>,
    register: Arc<SessionStep>,
    timeout: Duration,
}

impl std::fmt::Debug for NodeLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeLink(node {} of {})", self.rank, self.nodes)
    }
}

impl NodeLink {
    /// Node `rank` of `nodes`, admitted through `coordinator`, whose burn-collective session
    /// is ended by `finish` and started by `register`. It is not registered yet.
    pub(super) fn new(
        rank: usize,
        nodes: usize,
        coordinator: Arc<CoordinatorLink>,
        finish: SessionStep,
        register: SessionStep,
        timeout: Duration,
    ) -> Self {
        let (jobs, queue) = channel::<Job>();
        std::thread::spawn(move || {
            for job in queue {
                job();
            }
        });
        Self {
            rank,
            nodes,
            jobs: Mutex::new(jobs),
            broken: Arc::new(Mutex::new(None)),
            coordinator,
            finish: Arc::new(finish),
            register: Arc::new(register),
            timeout,
        }
    }

    /// Starts the session: returns when every node has registered.
    pub(super) fn register(&self) -> Result<(), String> {
        let register = Arc::clone(&self.register);
        self.exchange(move || register())
    }

    /// `tensor` summed (or averaged) over every node, as peer `peer`.
    pub(crate) fn all_reduce<B: Backend, const D: usize>(
        &self,
        peer: usize,
        tensor: Tensor<B, D>,
        operation: ReduceOperation,
    ) -> Result<Tensor<B, D>, String> {
        let shape = tensor.shape();
        let len = shape.num_elements();
        let device = tensor.device();
        let dtype = tensor.dtype();
        // burn-collective's global ring cuts the tensor into one slice per node.
        let mut flat = tensor.reshape([len]);
        if len < self.nodes {
            flat = Tensor::cat(vec![flat, Tensor::zeros([self.nodes - len], (&device, dtype))], 0);
        }
        let primitive = flat.into_primitive().tensor();
        let summed = self.exchange(move || {
            all_reduce::<B>(PeerId::from(peer), primitive, ReduceOperation::Sum)
                .map_err(|error| format!("all-reduce between nodes failed: {error:?}"))
        })?;
        let mut summed = Tensor::<B, 1>::from_primitive(TensorPrimitive::Float(summed));
        if len < self.nodes {
            summed = summed.slice(0..len);
        }
        if operation == ReduceOperation::Mean {
            summed = summed.div_scalar(self.nodes as f64);
        }
        Ok(summed.reshape(shape))
    }

    /// Ends the session after the run and meets the other nodes once more, so that node 0,
    /// which hosts the orchestrator, leaves last.
    pub(crate) fn leave(&self) -> Result<(), String> {
        let finish = Arc::clone(&self.finish);
        self.exchange(move || finish())?;
        self.coordinator.leaving.store(true, Ordering::SeqCst);
        self.coordinator.barrier(LAST_ROUND, self.timeout)?;
        self.coordinator.bye();
        Ok(())
    }

    /// Runs `work` on the worker thread and waits for its result.
    fn exchange<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, String> + Send + 'static,
    ) -> Result<T, String> {
        if let Some(reason) = self.failure() {
            return Err(reason);
        }
        let (result_in, result) = channel();
        let broken = Arc::clone(&self.broken);
        let job: Job = Box::new(move || {
            if broken.lock().map(|slot| slot.is_some()).unwrap_or(true) {
                return;
            }
            let outcome = work();
            if let (Err(reason), Ok(mut slot)) = (&outcome, broken.lock()) {
                slot.get_or_insert(reason.clone());
            }
            let _ = result_in.send(outcome);
        });
        self.jobs
            .lock()
            .map_err(|_| "the exchange thread failed".to_string())?
            .send(job)
            .map_err(|_| "the exchange thread stopped".to_string())?;
        self.wait(&result)
    }

    fn wait<T>(&self, result: &Receiver<Result<T, String>>) -> Result<T, String> {
        let started = Instant::now();
        loop {
            match result.recv_timeout(TICK) {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(reason)) => return Err(self.explained(reason)),
                Err(RecvTimeoutError::Timeout) => {
                    if let Some(reason) = self.failure() {
                        return Err(reason);
                    }
                    if started.elapsed() > self.timeout {
                        return Err(format!(
                            "node {}: no exchange with the other nodes completed within {} s \
                             (distributed.timeout_s)",
                            self.rank,
                            self.timeout.as_secs_f64()
                        ));
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(self.failure().unwrap_or_else(|| "the exchange was dropped".into()));
                }
            }
        }
    }

    /// A failed exchange's cause: usually another node that is gone, whose notice may come
    /// from the coordinator a moment after burn-collective's own error.
    fn explained(&self, reason: String) -> String {
        let deadline = Instant::now() + GONE_NOTICE;
        loop {
            if let Some(gone) = self.coordinator.gone() {
                return gone;
            }
            if Instant::now() >= deadline {
                return reason;
            }
            std::thread::sleep(TICK);
        }
    }

    /// Why the link cannot be used, if it cannot: a gone node first, as the likely cause.
    fn failure(&self) -> Option<String> {
        self.coordinator
            .gone()
            .or_else(|| self.broken.lock().ok().and_then(|slot| slot.clone()))
    }
}

/// A node's connection to the coordinator, once admitted.
#[derive(Debug)]
pub(super) struct CoordinatorLink {
    writer: Mutex<TcpStream>,
    rounds: Mutex<Receiver<u64>>,
    gone: Arc<Mutex<Option<String>>>,
    /// Set after the run: node 0's connection closing is then no failure.
    leaving: Arc<AtomicBool>,
}

impl CoordinatorLink {
    /// Says `hello` on `stream` and waits until `deadline` for the coordinator's answer: the
    /// link (which names other nodes by the addresses it was given), or why this node was
    /// refused. `coordinator` is its address, for messages.
    pub(super) fn join(
        mut stream: TcpStream,
        hello: &Message,
        coordinator: &str,
        deadline: Instant,
    ) -> Result<Self, String> {
        let io = |error: std::io::Error| format!("talking to the orchestrator at {coordinator}: {error}");
        send(&mut stream, hello).map_err(io)?;
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        stream.set_read_timeout(Some(wait)).map_err(io)?;
        let mut reader = BufReader::new(stream.try_clone().map_err(io)?);
        let addresses = match receive(&mut reader) {
            Ok(Some(Message::Welcome { addresses })) => addresses,
            Ok(Some(Message::Refused { reason })) => return Err(format!("the run was refused: {reason}")),
            Ok(_) => return Err(format!("the orchestrator at {coordinator} closed the connection")),
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(format!(
                    "the other nodes did not all join through {coordinator} within {} s \
                     (distributed.join_timeout_s)",
                    wait.as_secs()
                ));
            }
            Err(error) => return Err(io(error)),
        };
        stream.set_read_timeout(None).map_err(io)?;
        let (rounds_in, rounds) = channel();
        let gone = Arc::new(Mutex::new(None));
        let leaving = Arc::new(AtomicBool::new(false));
        let link = Self {
            writer: Mutex::new(stream),
            rounds: Mutex::new(rounds),
            gone: Arc::clone(&gone),
            leaving: Arc::clone(&leaving),
        };
        std::thread::spawn(move || listen(reader, &addresses, &rounds_in, &gone, &leaving));
        Ok(link)
    }

    /// Waits (at most `timeout`) until every node has arrived at barrier `round`.
    fn barrier(&self, round: u64, timeout: Duration) -> Result<(), String> {
        {
            let mut writer = self
                .writer
                .lock()
                .map_err(|_| "the coordinator link failed".to_string())?;
            send(&mut writer, &Message::Barrier { round }).map_err(|error| {
                self.gone()
                    .unwrap_or_else(|| format!("cannot reach the orchestrator: {error}"))
            })?;
        }
        let rounds = self
            .rounds
            .lock()
            .map_err(|_| "the coordinator link failed".to_string())?;
        let started = Instant::now();
        loop {
            match rounds.recv_timeout(TICK) {
                Ok(arrived) if arrived == round => return Ok(()),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    if let Some(reason) = self.gone() {
                        return Err(reason);
                    }
                    if started.elapsed() > timeout {
                        return Err(format!(
                            "the other nodes did not arrive within {} s (distributed.timeout_s)",
                            timeout.as_secs_f64()
                        ));
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(self
                        .gone()
                        .unwrap_or_else(|| "the orchestrator's connection closed".into()));
                }
            }
        }
    }

    fn bye(&self) {
        if let Ok(mut writer) = self.writer.lock() {
            let _ = send(&mut writer, &Message::Bye);
        }
    }

    /// Which node is gone and why, once one is.
    fn gone(&self) -> Option<String> {
        self.gone.lock().ok().and_then(|slot| slot.clone())
    }
}

/// Reads the coordinator's messages until its connection closes: barrier rounds go to
/// `rounds`, and a gone node (or node 0, when the connection closes early) to `gone`.
fn listen(
    mut reader: BufReader<TcpStream>,
    addresses: &[String],
    rounds: &Sender<u64>,
    gone: &Mutex<Option<String>>,
    leaving: &AtomicBool,
) {
    let name = |rank: usize| format!("node {rank} ({})", addresses.get(rank).map_or("?", String::as_str));
    let reason = loop {
        match receive(&mut reader) {
            Ok(Some(Message::Go { round })) => {
                let _ = rounds.send(round);
            }
            Ok(Some(Message::Gone { rank, reason })) => break format!("{} is gone: {reason}", name(rank)),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) if leaving.load(Ordering::SeqCst) => return,
            Ok(None) | Err(_) => break format!("{} is gone: the connection to it closed", name(0)),
        }
    };
    if let Ok(mut slot) = gone.lock() {
        slot.get_or_insert(reason);
    }
}
