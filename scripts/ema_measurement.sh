#!/usr/bin/env bash
# What G_ema buys: FD-FMNIST, KID, precision and recall of the trained generator (raw), of
# G_ema with recomputed BatchNorm statistics (ema) and of G_ema with the raw generator's
# statistics (ema-raw-bn, what copying them gives), at equal steps of one WGAN-GP run on the
# real Fashion-MNIST at DIM 32.
#
#   scripts/ema_measurement.sh [WGAN_BINARY] [RUN_DIR] [STEPS] [MEASURED_STEPS...]
#
# Defaults: target/release/wgan, runs/ema-dim32, 2000 steps, measured at 600, 800, 1000 and 2000.
# An existing RUN_DIR is resumed, or only measured once it has a checkpoint at STEPS. The table goes to
# stdout and to RUN_DIR/ema-measurement.tsv. Training took 0.30 steps/s on 2 cores with the dev-profile build
# (about 110 min for 2000 steps), then about 1 min per measurement.
set -euo pipefail
cd "$(dirname "$0")/.."

wgan="${1:-target/release/wgan}"
run="${2:-runs/ema-dim32}"
steps="${3:-2000}"
shift $(($# < 3 ? $# : 3))
measured=("$@")
[ ${#measured[@]} -gt 0 ] || measured=(600 800 1000 2000)

# The main job's config with G_ema kept (decay 0.999, StyleGAN2 ramp-up 0.05, recomputed
# statistics), checkpoints every 200 steps and all of them kept, no in-training evaluation.
settings=(
  --set model.dim=32
  --set ema.decay=0.999 --set ema.ramp_up=0.05 --set ema.batch_norm=recompute
  --set schedule.checkpoint_interval=200 --set schedule.keep_checkpoints=100
  --set schedule.eval_interval=0
)
if [ -d "$run/checkpoints/$(printf 'step-%06d' "$steps")" ]; then
  echo "$run is trained to step $steps; measuring only" >&2
elif [ -d "$run/checkpoints" ]; then
  "$wgan" train --resume "$run" --steps "$steps"
else
  "$wgan" train --config configs/wgan-gp.toml "${settings[@]}" --steps "$steps" --out "$run"
fi

table="$run/ema-measurement.tsv"
printf 'step\tweights\tfd_fmnist\tkid\tkid_std\tprecision\trecall\tinception_score\n' | tee "$table"
for step in "${measured[@]}"; do
  checkpoint="$run/checkpoints/$(printf 'step-%06d' "$step")"
  for weights in raw ema ema-raw-bn; do
    "$wgan" eval --from "$checkpoint" --weights "$weights" --json |
      python3 -c '
import json, sys
r = json.load(sys.stdin)
step, weights = sys.argv[1], sys.argv[2]
cells = [step, weights] + [format(r[key], spec) for key, spec in (
    ("fd_fmnist", ".3f"), ("kid", ".4f"), ("kid_std", ".4f"),
    ("precision", ".3f"), ("recall", ".3f"), ("inception_score", ".2f"))]
print("\t".join(cells))
' "$step" "$weights" | tee -a "$table"
  done
done
