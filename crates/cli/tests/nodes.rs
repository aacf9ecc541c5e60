//! `wgan train --nodes`: processes on 127.0.0.1 training together through burn-collective's
//! orchestrator, and what happens when one dies, cannot reach node 0, or disagrees.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use common::{
    assert_losses_agree, binary, losses, smoke_train_args, stderr_with_code, wait_for_steps, wgan, with_training_data,
};

/// How long a node may take to notice that another one died. A process that ends closes
/// its connection to node 0's coordinator, so it takes well under a second; the margin is
/// for a loaded machine.
const NOTICE: Duration = Duration::from_secs(20);

/// The first of four free ports (a run of 2 nodes uses P to P + 3), different for every
/// call and every test process.
fn free_ports() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    loop {
        let offset = NEXT.fetch_add(4, Ordering::Relaxed);
        let base = 20_000 + (std::process::id() % 500) as u16 * 40 + offset % 40;
        let free = (base..base + 4).all(|port| TcpListener::bind(("0.0.0.0", port)).is_ok());
        if free {
            return base;
        }
    }
}

/// Starts node `rank` of 2 on the CPU with `args` (a `wgan train` command line).
fn start_node(args: &[String], rank: usize, port: u16) -> Child {
    binary()
        .command()
        .args(args)
        .args(["--device", "cpu", "--nodes", "2", "--node-rank"])
        .args([rank.to_string(), "--port".into(), port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child` to exit; fails the test if it takes longer than `limit`.
fn finish_within(mut child: Child, limit: Duration) -> (Output, Duration) {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            let output = child.wait_with_output().unwrap();
            panic!("no exit within {limit:?}:\n{}", String::from_utf8_lossy(&output.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let waited = started.elapsed();
    (child.wait_with_output().unwrap(), waited)
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|arg| arg.to_string()).collect()
}

/// Runs both nodes of a 2-node run of `args` to the end and checks they succeeded.
fn train_two_nodes(args: &[String]) {
    let port = free_ports();
    let nodes = [0, 1].map(|rank| start_node(args, rank, port));
    for node in nodes {
        let (output, _) = finish_within(node, Duration::from_secs(300));
        stderr_with_code(&output, 0);
    }
}

fn assert_same_losses(a: &Path, b: &Path, steps: usize) {
    let [a, b] = [a, b].map(losses);
    assert_eq!(a.len(), steps);
    assert_losses_agree(&a, &b, 1e-6);
}

/// Two processes give the same run as two threads (synchronised BatchNorm in the smoke
/// generator included), only node 0 writes, and both resume from node 0's checkpoint.
#[test]
fn two_processes_train_like_two_threads_and_resume() {
    let (dir, data) = with_training_data();
    let [threads, nodes, elsewhere] = ["threads", "nodes", "elsewhere"].map(|name| dir.path().join(name));
    let mut args = smoke_train_args(&threads, &data);
    args.extend(strings(&["--steps", "4", "--devices", "cpu,cpu"]));
    stderr_with_code(&binary().command().args(&args).output().unwrap(), 0);

    let node_args = |out: &Path| {
        let mut args = smoke_train_args(out, &data);
        args.extend(strings(&["--steps", "4"]));
        args
    };
    let port = free_ports();
    let leader = start_node(&node_args(&nodes), 0, port);
    let follower = start_node(&node_args(&elsewhere), 1, port);
    let (output, _) = finish_within(leader, Duration::from_secs(300));
    let stderr = stderr_with_code(&output, 0);
    assert!(
        stderr.contains("data parallel: 2 replicas, batch 16 = 2 × 8"),
        "{stderr}"
    );
    let (output, _) = finish_within(follower, Duration::from_secs(60));
    let stderr = stderr_with_code(&output, 0);
    assert!(stderr.contains("node 1: step 4/4"), "{stderr}");
    assert!(!elsewhere.exists(), "node 1 wrote a run directory");
    assert_same_losses(&threads, &nodes, 4);

    let run = nodes.display().to_string();
    train_two_nodes(&strings(&["train", "--resume", &run, "--steps", "6"]));
    let run = threads.display().to_string();
    let resumed = wgan(&["train", "--resume", &run, "--steps", "6", "--devices", "cpu,cpu"]);
    stderr_with_code(&resumed, 0);
    assert_same_losses(&threads, &nodes, 6);
}

/// A node killed mid-run stops the other within seconds, naming it, with exit code 2; the
/// last checkpoint is intact and continues on two threads.
#[test]
fn a_dead_node_stops_the_other_within_seconds() {
    let (dir, data) = with_training_data();
    for dies in [1, 0] {
        let run = dir.path().join(format!("run-{dies}"));
        let mut args = smoke_train_args(&run, &data);
        args.extend(strings(&["--steps", "500", "--set", "schedule.checkpoint_interval=2"]));
        let port = free_ports();
        let mut nodes = [0, 1].map(|rank| Some(start_node(&args, rank, port)));
        wait_for_steps(&run, 3);
        let mut victim = nodes[dies].take().unwrap();
        victim.kill().unwrap();
        victim.wait().unwrap();
        let survivor = nodes[1 - dies].take().unwrap();
        let (output, waited) = finish_within(survivor, NOTICE);
        let stderr = stderr_with_code(&output, 2);
        assert!(stderr.contains(&format!("node {dies} (")), "{stderr}");
        assert!(stderr.contains("is gone"), "{stderr}");
        eprintln!("node {} stopped {waited:?} after node {dies} was killed", 1 - dies);

        if dies == 1 {
            let path = run.display().to_string();
            let resumed = wgan(&["train", "--resume", &path, "--steps", "6", "--devices", "cpu,cpu"]);
            let stderr = stderr_with_code(&resumed, 0);
            assert!(stderr.contains("resuming"), "{stderr}");
        }
    }
}

/// A node started without node 0 gives up after `distributed.join_timeout_s`, naming the
/// address it tried.
#[test]
fn a_node_that_cannot_reach_node_0_names_the_address() {
    let (dir, data) = with_training_data();
    let mut args = smoke_train_args(&dir.path().join("run"), &data);
    args.extend(strings(&["--set", "distributed.join_timeout_s=1"]));
    let port = free_ports();
    let (output, waited) = finish_within(start_node(&args, 1, port), Duration::from_secs(30));
    let stderr = stderr_with_code(&output, 1);
    assert!(
        stderr.contains(&format!("cannot reach the orchestrator at 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(waited < Duration::from_secs(15), "{waited:?}");
}

/// Nodes started with different configs are refused, both of them, before any step.
#[test]
fn nodes_with_different_configs_are_refused() {
    let (dir, data) = with_training_data();
    let run = dir.path().join("run");
    let port = free_ports();
    let nodes = [1, 2].map(|seed| {
        let mut args = smoke_train_args(&run, &data);
        args.extend(strings(&["--seed", &seed.to_string()]));
        start_node(&args, seed - 1, port)
    });
    for node in nodes {
        let (output, _) = finish_within(node, Duration::from_secs(60));
        let stderr = stderr_with_code(&output, 1);
        assert!(stderr.contains("node 1's config differs from node 0's"), "{stderr}");
    }
    assert_eq!(common::losses_logged(&run), 0);
}
