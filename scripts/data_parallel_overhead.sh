#!/usr/bin/env bash
# The data-parallel overhead on this machine, as the README quotes it: WGAN-GP at DIM 64,
# batch 64, trained for STEPS generator steps on one CPU replica, on two replicas as threads
# (--devices cpu,cpu) and on two processes (--nodes 2 on 127.0.0.1), in ROUNDS alternating
# rounds. Prints, per run, the median seconds per step of steps 2..STEPS (metrics.jsonl) and
# the megabytes replica 0 all-reduced per generator step.
#
#     scripts/data_parallel_overhead.sh [ROUNDS] [STEPS]     (defaults: 2 rounds, 6 steps)
set -euo pipefail
rounds=${1:-2}
steps=${2:-6}
root=$(cd "$(dirname "$0")/.." && pwd)
wgan=${WGAN:-$root/target/release/wgan}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
common=(--config "$root/configs/wgan-gp.toml" --set model.dim=64 --set schedule.eval_interval=0
  --set logging.tensorboard=false --steps "$steps")

median_step_s() {
  python3 - "$1/metrics.jsonl" <<'PY'
import json, sys
rates = sorted(1 / e["steps_per_s"] for e in map(json.loads, open(sys.argv[1])) if e["step"] >= 2 and e.get("steps_per_s"))
print(f"{rates[len(rates) // 2]:.2f}")
PY
}
megabytes() { sed -n 's/.*all-reduced \([0-9.]*\) MB.*/\1/p' "$1"; }

for round in $(seq "$rounds"); do
  "$wgan" train "${common[@]}" --device cpu --out "$out/one-$round" 2>"$out/one-$round.log"
  echo "round $round  1 replica           $(median_step_s "$out/one-$round") s/step"
  "$wgan" train "${common[@]}" --devices cpu,cpu --out "$out/threads-$round" 2>"$out/threads-$round.log"
  echo "round $round  2 threads           $(median_step_s "$out/threads-$round") s/step," \
    "$(megabytes "$out/threads-$round.log") MB all-reduced per step"
  port=$((29500 + 10 * round))
  "$wgan" train "${common[@]}" --device cpu --nodes 2 --node-rank 1 --port "$port" >/dev/null 2>"$out/node1-$round.log" &
  "$wgan" train "${common[@]}" --device cpu --nodes 2 --node-rank 0 --port "$port" --out "$out/nodes-$round" >/dev/null \
    2>"$out/nodes-$round.log"
  wait
  echo "round $round  2 processes         $(median_step_s "$out/nodes-$round") s/step," \
    "$(megabytes "$out/nodes-$round.log") MB all-reduced per step"
done
