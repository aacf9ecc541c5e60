#!/usr/bin/env bash
# The Lipschitz-constraint comparison in the README: WGAN-GP, WGAN-LP (one-sided GP), WGAN-div,
# a spectrally normalised critic and weight clipping, trained on Fashion-MNIST at one width and
# one step budget, each measured once at the end (FD-FMNIST, KID, IS on 10 000 samples), then
# charted with `wgan compare` and tabled from their metrics.jsonl and summary.json.
#
#   scripts/compare-constraints.sh [OUT_DIR]     (default runs/constraints)
#
# Knobs: STEPS (500), DIM (32), WGAN (target/release/wgan), CHART (docs/constraints.png).
set -euo pipefail
out=${1:-runs/constraints}
steps=${STEPS:-500}
dim=${DIM:-32}
wgan=${WGAN:-target/release/wgan}
chart=${CHART:-docs/constraints.png}
configs=(wgan-gp wgan-lp wgan-div sn-wgan wgan)

mkdir -p "$out"
for name in "${configs[@]}"; do
  if [ -f "$out/$name/summary.json" ]; then
    echo "== $name: already trained ($out/$name)"
    continue
  fi
  echo "== $name"
  "$wgan" train --config "configs/$name.toml" --device cpu --steps "$steps" \
    --set model.dim="$dim" --set schedule.eval_interval="$steps" --set schedule.log_interval=10 \
    --out "$out/$name"
done

runs=()
for name in "${configs[@]}"; do runs+=("$out/$name"); done
"$wgan" compare "${runs[@]}" --out "$chart" --metric fd --metric wasserstein
python3 - "${runs[@]}" <<'PY'
import json, sys
print("| run | steps | FD-FMNIST | KID | IS | precision | recall | steps/s |")
print("|---|---|---|---|---|---|---|---|")
for run in sys.argv[1:]:
    rows = [json.loads(line) for line in open(f"{run}/metrics.jsonl") if line.strip()]
    quality = [r for r in rows if r.get("fd_fmnist") is not None][-1]
    summary = json.load(open(f"{run}/summary.json"))
    kid = quality.get("kid")
    kid = f"{kid:.3f} ± {quality['kid_std']:.3f}" if kid is not None else "–"
    name = run.rstrip("/").split("/")[-1]
    print(
        f"| {name} | {quality['step']} | {quality['fd_fmnist']:.2f} | {kid} | {quality['inception_score']:.2f} "
        f"| {quality.get('precision', float('nan')):.3f} | {quality.get('recall', float('nan')):.3f} "
        f"| {summary['mean_steps_per_s']:.3f} |"
    )
PY
