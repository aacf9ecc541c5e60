#!/usr/bin/env bash
# Makes gpu-payload/ (ignored by git): what scripts/gpu-check.sh needs on a GPU machine that
# has no Rust and no network, well inside the 64 MiB that travel with the working tree.
#
#     scripts/gpu-payload.sh [IMAGES]
#
# - wgan.xz: the release binary (all three backends), stripped and xz-compressed; gpu-check.sh
#   unpacks it with Python's lzma. About 65 MB stripped, 13 MB compressed.
# - fashion-mnist/train-{images-idx3,labels-idx1}-ubyte.gz: the first IMAGES (default 10000)
#   training images and labels of Fashion-MNIST, as IDX, for the benchmarks and the real run.
#
# The CUDA bindings are built for the CUDA version cudarc finds (`nvcc`), else its latest; set
# CUDARC_CUDA_VERSION (e.g. 13000 for a CUDA 13.0 driver) to pin it, which builds in
# target/gpu-payload so that the usual release build is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
images=${1:-10000}
out=gpu-payload
mkdir -p "$out/fashion-mnist"

if [ -n "${CUDARC_CUDA_VERSION:-}" ]; then
  target_dir=target/gpu-payload
else
  target_dir=target
fi
cargo build --release --locked -p wgan-cli --target-dir "$target_dir"
strip -o "$out/wgan" "$target_dir/release/wgan"
xz -T0 -6 -f "$out/wgan"

source_dir=""
for dir in datasets/fashion-mnist /usr/share/datasets/fashion-mnist; do
  if [ -f "$dir/train-images-idx3-ubyte.gz" ]; then source_dir=$dir; break; fi
done
if [ -z "$source_dir" ]; then
  echo "gpu-payload: no Fashion-MNIST (install Debian's dataset-fashion-mnist); the payload has no data" >&2
else
  python3 - "$source_dir" "$out/fashion-mnist" "$images" <<'EOF'
import gzip, struct, sys
source, target, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
for name, header_size, item_size in [("train-images-idx3-ubyte.gz", 16, 28 * 28),
                                     ("train-labels-idx1-ubyte.gz", 8, 1)]:
    with gzip.open(f"{source}/{name}") as f:
        header = bytearray(f.read(header_size))
        available = struct.unpack(">I", header[4:8])[0]
        kept = min(count, available)
        header[4:8] = struct.pack(">I", kept)
        body = f.read(kept * item_size)
    with gzip.open(f"{target}/{name}", "wb", compresslevel=9) as f:
        f.write(bytes(header) + body)
    print(f"{target}/{name}: {kept} of {available}")
EOF
fi
du -ab "$out" | sort -n | tail -n 4
total=$(du -sb "$out" | cut -f1)
tree=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -n1 | cut -f1)
echo "payload $((total / 1048576)) MiB + tracked files $((tree / 1048576)) MiB of the 64 MiB that travel"
