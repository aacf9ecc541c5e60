#!/usr/bin/env bash
# The whole GPU verification in one command, for a GPU machine with no network and no Rust:
#
#     scripts/gpu-check.sh OUT_DIR
#
# It runs on the payload that scripts/gpu-payload.sh makes on a CPU machine (a stripped,
# xz-compressed release binary and a slice of Fashion-MNIST, under gpu-payload/), carried over
# with the working tree. In order, each part time-boxed, a missing piece skipping its part with
# the reason rather than ending the check:
#   1. finds libcuda, NVRTC (CUDA toolkit or Python's nvidia-* packages), the Vulkan loader
#      and the NVIDIA Vulkan ICD, sets the library path, and prints what it found;
#   2. `wgan devices`;
#   3. CUDA against CPU at DIM 8: 2 generator steps of both variants, losses within 1e-3;
#   4. `wgan bench --peak` of both variants at DIM 64 and 128, on CUDA and on wgpu;
#   5. the PyTorch peer on CUDA alternating with `wgan bench` (scripts/peer/compare.py);
#   6. a real-data WGAN-GP run at DIM 128 on CUDA: a checkpoint, SIGKILL, `--resume`, and a
#      check that metrics.jsonl then holds every step once;
#   7. data-parallel WGAN-GP at the largest DIM on two CUDA devices against one (skipped on a
#      machine with one GPU): steps/s of each, BatchNorm per replica.
# It prints one Markdown table and writes OUT_DIR/results.json (with every part's raw JSON
# beside it). The whole check aims at under 8 minutes (GPU_CHECK_BUDGET_S, default 420 s:
# parts that would start after it are skipped).
#
# Rehearsal without a GPU (software Vulkan, the CPU for CUDA, small sizes):
#     GPU_CHECK_DEVICE=cpu GPU_CHECK_ALLOW_SOFTWARE_WGPU=1 GPU_CHECK_DIMS="8" \
#     GPU_CHECK_SET="data.batch_size=16" GPU_CHECK_RUN_DIM=8 GPU_CHECK_BENCH_STEPS=2 \
#     GPU_CHECK_BENCH_WARMUP=1 GPU_CHECK_PEER_ROUNDS=1 GPU_CHECK_PEER_STEPS=2 \
#     GPU_CHECK_RUN_STEPS=12 GPU_CHECK_CHECKPOINT=4 GPU_CHECK_BUDGET_S=3600 \
#     GPU_CHECK_PART_TIMEOUT_S=900 scripts/gpu-check.sh /tmp/gpu-check
set -uo pipefail

if [ $# -ne 1 ]; then
  echo "usage: scripts/gpu-check.sh OUT_DIR" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1" || exit 1
out=$(cd "$1" && pwd)
cd "$root" || exit 1

gpu=${GPU_CHECK_DEVICE:-cuda}
wgpu_device=${GPU_CHECK_WGPU_DEVICE:-wgpu}
dims=${GPU_CHECK_DIMS:-"64 128"}
bench_steps=${GPU_CHECK_BENCH_STEPS:-20}
bench_warmup=${GPU_CHECK_BENCH_WARMUP:-3}
peer_rounds=${GPU_CHECK_PEER_ROUNDS:-3}
peer_steps=${GPU_CHECK_PEER_STEPS:-20}
run_dim=${GPU_CHECK_RUN_DIM:-128}
run_steps=${GPU_CHECK_RUN_STEPS:-300}
parallel_steps=${GPU_CHECK_PARALLEL_STEPS:-40}
checkpoint_every=${GPU_CHECK_CHECKPOINT:-100}
budget_s=${GPU_CHECK_BUDGET_S:-420}
part_timeout_s=${GPU_CHECK_PART_TIMEOUT_S:-240}
# Extra `--set KEY=VALUE` items for the benchmarks, the peer and the run (space-separated).
extra_sets=()
for item in ${GPU_CHECK_SET:-}; do extra_sets+=(--set "$item"); done
payload=${GPU_CHECK_PAYLOAD:-$root/gpu-payload}
started=$(date +%s)
parts="$out/parts.jsonl"
: >"$parts"

say() { printf '[gpu-check %4ss] %s\n' "$(($(date +%s) - started))" "$*"; }

# record PART STATUS DETAIL [JSON_FILE]: one line of parts.jsonl.
record() {
  python3 - "$@" >>"$parts" <<'EOF'
import json, sys
part, status, detail = sys.argv[1:4]
entry = {"part": part, "status": status, "detail": detail}
if len(sys.argv) > 4:
    try:
        with open(sys.argv[4]) as f:
            entry["result"] = json.load(f)
    except (OSError, ValueError) as error:
        entry["result_error"] = str(error)
print(json.dumps(entry))
EOF
  say "$1: $2${3:+ ($3)}"
}

# in_budget PART: false (and the part recorded as skipped) once the budget is spent.
in_budget() {
  if [ $(($(date +%s) - started)) -ge "$budget_s" ]; then
    record "$1" skipped "the check's ${budget_s} s budget is spent"
    return 1
  fi
}

# failure RC LOG: why a command failed, for the table: a timeout, else its first error line.
failure() {
  if [ "$1" = 124 ] || [ "$1" = 137 ]; then
    echo "timed out after ${part_timeout_s} s"
  else
    grep -m1 -E 'error|Error|panicked' "$2" 2>/dev/null || tail -n1 "$2"
  fi
}

# run_part PART FILE COMMAND...: COMMAND, time-boxed, its stdout in FILE and stderr in
# FILE.log, recorded as ok with FILE's JSON or as failed with the reason.
run_part() {
  local part=$1 file=$2 rc
  shift 2
  timeout "$part_timeout_s" "$@" >"$file" 2>"$file.log"
  rc=$?
  if [ "$rc" = 0 ]; then
    record "$part" ok "" "$file"
  else
    record "$part" failed "$(failure "$rc" "$file.log")"
  fi
}

# --- The binary and the data -------------------------------------------------------------
wgan=${WGAN_BIN:-}
if [ -z "$wgan" ]; then
  if [ -f "$payload/wgan.xz" ]; then
    wgan="$out/bin/wgan"
    mkdir -p "$out/bin"
    python3 -c 'import lzma, shutil, sys
with lzma.open(sys.argv[1]) as source, open(sys.argv[2], "wb") as target:
    shutil.copyfileobj(source, target)' "$payload/wgan.xz" "$wgan" && chmod +x "$wgan"
  elif [ -x target/release/wgan ]; then
    wgan=target/release/wgan
  fi
fi
if [ -z "$wgan" ] || ! "$wgan" --version >/dev/null 2>&1; then
  echo "gpu-check: no runnable wgan binary (set WGAN_BIN, or make gpu-payload/ with scripts/gpu-payload.sh)" >&2
  exit 1
fi
say "binary: $wgan ($("$wgan" --version))"
data="$payload/fashion-mnist/train-images-idx3-ubyte.gz"
if [ -f "$data" ]; then
  data_sets=(--set data.source=idx --set "data.path=$data")
else
  data_sets=()
  say "no $data: wgan's own Fashion-MNIST search decides (datasets/README.md)"
fi

# --- 1. Libraries --------------------------------------------------------------------------
# first_file PATTERN DIR...: the first file matching PATTERN in the DIRs, else nothing.
first_file() {
  local pattern=$1 dir found
  shift
  for dir in "$@"; do
    found=$(find "$dir" -maxdepth 1 -name "$pattern" \( -type f -o -type l \) 2>/dev/null | sort | head -n1)
    if [ -n "$found" ]; then
      echo "$found"
      return
    fi
  done
}
from_ldconfig() { ldconfig -p 2>/dev/null | awk -v name="$1" '$1 == name { print $NF; exit }'; }
python_nvidia_dirs=$(python3 -c 'import glob, os, sys
for entry in sys.path:
    for path in sorted(glob.glob(os.path.join(entry, "nvidia", "**", "libnvrtc.so*"), recursive=True)):
        print(os.path.dirname(path))' 2>/dev/null | sort -u)
driver_dirs="/usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/cuda/compat"
# shellcheck disable=SC2086
libcuda=$(from_ldconfig libcuda.so.1)
[ -n "$libcuda" ] || libcuda=$(first_file 'libcuda.so.1' $driver_dirs)
# shellcheck disable=SC2086
nvrtc=$(first_file 'libnvrtc.so.*' /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-*/lib64 $python_nvidia_dirs)
[ -n "$nvrtc" ] || nvrtc=$(from_ldconfig libnvrtc.so)
vulkan=$(from_ldconfig libvulkan.so.1)
# shellcheck disable=SC2086
[ -n "$vulkan" ] || vulkan=$(first_file 'libvulkan.so.1' $driver_dirs)
icd=$(first_file '*nvidia*.json' /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/vulkan/icd.d /usr/local/share/vulkan/icd.d)
library_path=""
for library in "$libcuda" "$nvrtc" "$vulkan"; do
  [ -n "$library" ] && library_path="$library_path:$(dirname "$library")"
done
export LD_LIBRARY_PATH="${library_path#:}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ -n "$icd" ]; then
  export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
python3 - "$out/libraries.json" "$libcuda" "$nvrtc" "$vulkan" "$icd" "$LD_LIBRARY_PATH" <<'EOF'
import json, sys
names = ["libcuda", "nvrtc", "vulkan_loader", "nvidia_vulkan_icd", "LD_LIBRARY_PATH"]
found = {name: (value or None) for name, value in zip(names, sys.argv[2:])}
json.dump(found, open(sys.argv[1], "w"), indent=1)
for name, value in found.items():
    print(f"  {name}: {value or 'not found'}")
EOF
missing=""
for pair in "libcuda:$libcuda" "NVRTC:$nvrtc" "Vulkan loader:$vulkan" "NVIDIA Vulkan ICD:$icd"; do
  [ -n "${pair#*:}" ] || missing="$missing, ${pair%%:*}"
done
record libraries ok "${missing:+not found: ${missing#, }}" "$out/libraries.json"

# --- 2. Devices ----------------------------------------------------------------------------
"$wgan" devices >"$out/devices.txt" 2>&1
cat "$out/devices.txt"
cuda_ok=1
if [ "${gpu%%:*}" = cuda ] && ! grep -qE '^cuda(:[0-9]+)? \(' "$out/devices.txt"; then
  cuda_ok=0
fi
wgpu_ok=1
if ! grep -E '^wgpu:[0-9]+ ' "$out/devices.txt" | grep -qv software && [ -z "${GPU_CHECK_ALLOW_SOFTWARE_WGPU:-}" ]; then
  wgpu_ok=0
fi
record devices ok "$(tr '\n' ';' <"$out/devices.txt" | sed 's/;$//')"

# The device a GPU part runs on, or why it cannot.
gpu_skip_reason() {
  [ "$cuda_ok" = 1 ] || echo "no CUDA device: $(grep -m1 '^cuda' "$out/devices.txt")"
}

# --- 3. Agreement at DIM 8 -----------------------------------------------------------------
# The wgpu agreement test's settings: raised optimizer epsilons, so that each update is
# proportional to its gradient (crates/train/tests/wgpu_agreement.rs).
agreement() {
  local variant=$1 device=$2 dir=$3 optimizer
  if [ "$variant" = wgan-gp ]; then
    optimizer=(--set optimizer.critic.epsilon=1 --set optimizer.generator.epsilon=1)
  else
    optimizer=(--set optimizer.critic.epsilon=0.001 --set optimizer.generator.epsilon=0.001)
  fi
  rm -rf "$dir"
  timeout "$part_timeout_s" "$wgan" train --config "configs/$variant.toml" "${data_sets[@]}" --device "$device" \
    --set model.dim=8 --set data.batch_size=16 --set schedule.steps=2 --set schedule.log_interval=1 \
    --set schedule.eval_interval=0 --set optimizer.critic.learning_rate=0.01 \
    --set optimizer.generator.learning_rate=0.01 "${optimizer[@]}" --out "$dir" >"$dir.log" 2>&1
}
for variant in wgan-gp wgan; do
  part="agreement $variant DIM 8 $gpu vs cpu"
  in_budget "$part" || continue
  reason=$(gpu_skip_reason)
  if [ -n "$reason" ]; then record "$part" skipped "$reason"; continue; fi
  agreement "$variant" cpu "$out/agreement-$variant-cpu"
  rc=$?
  if [ "$rc" != 0 ]; then
    record "$part" failed "cpu: $(failure "$rc" "$out/agreement-$variant-cpu.log")"; continue
  fi
  agreement "$variant" "$gpu" "$out/agreement-$variant-gpu"
  rc=$?
  if [ "$rc" != 0 ]; then
    record "$part" failed "$gpu: $(failure "$rc" "$out/agreement-$variant-gpu.log")"; continue
  fi
  if python3 scripts/gpu_check.py "$out/agreement-$variant-cpu/metrics.jsonl" \
    "$out/agreement-$variant-gpu/metrics.jsonl" 1e-3 >"$out/agreement-$variant.json"; then
    record "$part" ok "" "$out/agreement-$variant.json"
  else
    record "$part" failed "losses differ by more than 1e-3" "$out/agreement-$variant.json"
  fi
done

# --- 4. Benchmarks -------------------------------------------------------------------------
for device in "$gpu" "$wgpu_device"; do
  for variant in wgan-gp wgan; do
    for dim in $dims; do
      part="bench $variant DIM $dim on $device"
      in_budget "$part" || continue
      if [ "$device" = "$gpu" ]; then reason=$(gpu_skip_reason); else reason=""; fi
      if [ "$device" = "$wgpu_device" ] && [ "$wgpu_ok" = 0 ]; then
        reason="no hardware Vulkan adapter (wgan devices lists none; NVIDIA ICD: ${icd:-not found})"
      fi
      if [ -n "$reason" ]; then record "$part" skipped "$reason"; continue; fi
      file="$out/bench-$device-$variant-$dim.json"
      run_part "$part" "$file" "$wgan" bench --config "configs/$variant.toml" "${data_sets[@]}" \
        --set "model.dim=$dim" "${extra_sets[@]}" --device "$device" --steps "$bench_steps" \
        --warmup "$bench_warmup" --peak --json
    done
  done
done

# --- 5. The PyTorch peer -------------------------------------------------------------------
peer_dim=${dims##* }
for variant in wgan-gp wgan; do
  part="peer $variant DIM $peer_dim on $gpu"
  in_budget "$part" || continue
  reason=$(gpu_skip_reason)
  if ! python3 -c 'import torch' 2>/dev/null; then reason="python3 has no torch"; fi
  if [ "${gpu%%:*}" = cuda ] && [ -z "$reason" ] && ! python3 -c 'import torch, sys; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
    reason="PyTorch sees no CUDA device"
  fi
  if [ -n "$reason" ]; then record "$part" skipped "$reason"; continue; fi
  file="$out/peer-$variant-$peer_dim.json"
  run_part "$part" "$file" python3 scripts/peer/compare.py --config "configs/$variant.toml" "${data_sets[@]}" \
    --set "model.dim=$peer_dim" "${extra_sets[@]}" --device "$gpu" --wgan "$wgan" --rounds "$peer_rounds" \
    --steps "$peer_steps" --warmup "$bench_warmup" --json
done

# --- 6. A real-data run, killed and resumed ------------------------------------------------
part="run wgan-gp DIM $run_dim on $gpu: kill and resume"
if in_budget "$part"; then
  reason=$(gpu_skip_reason)
  [ -f "$data" ] || reason="${reason:-no Fashion-MNIST slice at $data}"
  if [ -n "$reason" ]; then
    record "$part" skipped "$reason"
  else
    run="$out/run"
    rm -rf "$run"
    "$wgan" train --config configs/wgan-gp.toml "${data_sets[@]}" "${extra_sets[@]}" --device "$gpu" --set "model.dim=$run_dim" \
      --set "schedule.steps=$run_steps" --set "schedule.checkpoint_interval=$checkpoint_every" \
      --set "schedule.sample_interval=$checkpoint_every" --set schedule.log_interval=1 \
      --set schedule.eval_interval=0 --out "$run" >"$out/run-first.log" 2>&1 &
    pid=$!
    first_checkpoint=$(printf '%s/checkpoints/step-%06d' "$run" "$checkpoint_every")
    # Kill once the first checkpoint is complete and a few steps are past it.
    for _ in $(seq 600); do
      if [ -f "$first_checkpoint/state.json" ]; then
        logged=$(wc -l <"$run/metrics.jsonl" 2>/dev/null || echo 0)
        [ "$logged" -ge $((checkpoint_every + 2)) ] && break
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    killed_at=$(wc -l <"$run/metrics.jsonl" 2>/dev/null || echo 0)
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=0
    if [ -d "$first_checkpoint" ]; then
      timeout "$part_timeout_s" "$wgan" train --resume "$run" --device "$gpu" >"$out/run-resume.log" 2>&1
      rc=$?
    fi
    if [ ! -d "$first_checkpoint" ]; then
      record "$part" failed "no checkpoint before the kill: $(failure 1 "$out/run-first.log")"
    elif [ "$rc" != 0 ]; then
      record "$part" failed "resume: $(failure "$rc" "$out/run-resume.log")"
    elif python3 scripts/gpu_check.py --run "$run" "$run_steps" "$killed_at" >"$out/run.json"; then
      record "$part" ok "killed after $killed_at logged steps" "$out/run.json"
    else
      record "$part" failed "metrics.jsonl after the resume" "$out/run.json"
    fi
  fi
fi

# --- 7. Data parallel on two devices ------------------------------------------------------
part="data parallel wgan-gp DIM $peer_dim: 1 vs 2 devices"
if in_budget "$part"; then
  one="$gpu:0"; two="$gpu:0,$gpu:1"
  [ "$gpu" = cpu ] && one=cpu && two=cpu,cpu
  reason=$(gpu_skip_reason)
  if [ -z "$reason" ] && [ "$gpu" != cpu ] && ! grep -qE "^$gpu:1 " "$out/devices.txt"; then
    reason="one $gpu device; this part needs two"
  fi
  if [ -n "$reason" ]; then
    record "$part" skipped "$reason"
  else
    failed=""
    for devices in "$one" "$two"; do
      dir="$out/parallel-${devices//[:,]/-}"
      rm -rf "$dir"
      timeout "$part_timeout_s" "$wgan" train --config configs/wgan-gp.toml "${data_sets[@]}" "${extra_sets[@]}" \
        --devices "$devices" --set "model.dim=$peer_dim" --set distributed.sync_batch_norm=false \
        --set "schedule.steps=$parallel_steps" --set schedule.log_interval=1 --set schedule.eval_interval=0 \
        --set "schedule.checkpoint_interval=$parallel_steps" --set "schedule.sample_interval=$parallel_steps" \
        --out "$dir" >"$dir.log" 2>&1
      rc=$?
      [ "$rc" = 0 ] || { failed="$devices: $(failure "$rc" "$dir.log")"; break; }
    done
    if [ -n "$failed" ]; then
      record "$part" failed "$failed"
    elif python3 scripts/gpu_check.py --data-parallel "$out/parallel-${one//[:,]/-}" "$out/parallel-${two//[:,]/-}" \
      >"$out/parallel.json"; then
      record "$part" ok "" "$out/parallel.json"
    else
      record "$part" failed "no steps/s logged" "$out/parallel.json"
    fi
  fi
fi

# --- Report --------------------------------------------------------------------------------
python3 scripts/gpu_check.py --report "$parts" "$out/results.json" "$(($(date +%s) - started))"
