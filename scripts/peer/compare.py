#!/usr/bin/env python3
"""Time `wgan bench` and the PyTorch peer on the same config and device, in alternation.

    python3 scripts/peer/compare.py --config configs/wgan-gp.toml --set model.dim=64 \
        --rounds 3 --steps 5 --wgan target/release/wgan

Each round runs `wgan bench --json` and then `wgan_peer.py` (same resolved config, same
thread count), so slow drifts of the machine hit both. Prints each round's medians, the median
over rounds of each side's median seconds per generator step, and the ratio wgan / PyTorch
(below 1: wgan is faster). --json prints one object instead.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run_json(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}")
    return json.loads(result.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True)
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2, help="PyTorch threads (wgan uses all cores)")
    parser.add_argument("--device", default="cpu", help="wgan --device; the peer uses cpu or cuda to match")
    parser.add_argument("--wgan", default="wgan", help="path of the wgan binary")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    sets = [item for o in args.overrides for item in ("--set", o)]
    resolved = run_json([args.wgan, "info", "--json", "--config", args.config, *sets])
    peer_device = "cuda" if args.device.startswith("cuda") else "cpu"
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(resolved, f)
        resolved_path = f.name
    bench = [args.wgan, "bench", "--json", "--config", args.config, *sets, "--device", args.device,
             "--steps", str(args.steps), "--warmup", str(args.warmup)]
    peer = [sys.executable, os.path.join(HERE, "wgan_peer.py"), resolved_path, "--steps", str(args.steps),
            "--warmup", str(args.warmup), "--threads", str(args.threads), "--device", peer_device]
    rounds = []
    try:
        for index in range(args.rounds):
            ours = run_json(bench)
            theirs = run_json(peer)
            rounds.append((ours["median_step_s"], theirs["median_step_s"]))
            if not args.json:
                print(f"round {index + 1}: wgan {ours['median_step_s']:.4f} s/step, "
                      f"pytorch {theirs['median_step_s']:.4f} s/step", flush=True)
    finally:
        os.unlink(resolved_path)
    wgan_s = statistics.median(r[0] for r in rounds)
    torch_s = statistics.median(r[1] for r in rounds)
    config = resolved["config"]
    summary = {
        "variant": config["preset"],
        "dim": config["model"]["dim"],
        "batch_size": config["data"]["batch_size"],
        "device": args.device,
        "rounds": args.rounds,
        "steps": args.steps,
        "wgan_median_step_s": wgan_s,
        "pytorch_median_step_s": torch_s,
        "ratio": wgan_s / torch_s,
        "pytorch": theirs["peer"],
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{summary['variant']} DIM {summary['dim']} batch {summary['batch_size']} on {args.device}: "
              f"wgan {wgan_s:.4f} s/step, {theirs['peer']} {torch_s:.4f} s/step, "
              f"ratio wgan/pytorch {wgan_s / torch_s:.2f}")


if __name__ == "__main__":
    main()
