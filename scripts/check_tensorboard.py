#!/usr/bin/env python3
"""Reads a wgan run's TensorBoard event files with TensorBoard's own reader and checks them
against the run's metrics.jsonl.

    check_tensorboard.py RUN_DIR --grid-size PIXELS

Checks, with tensorboard's EventAccumulator (the reader behind `tensorboard --logdir`):
- every scalar tag has exactly one value per logged step, equal (as float32) to metrics.jsonl;
- the sample grids decode as PNG at PIXELS × PIXELS, one per sampled step;
- the config is there as text and the hyperparameters for the hparams plugin.
Prints one JSON line with what it saw; exits 1 with the reason on the first failure.
"""

import argparse
import json
import struct
import sys
from pathlib import Path

from tensorboard.backend.event_processing import event_accumulator
from tensorboard.plugins.hparams import plugin_data_pb2

# TensorBoard tag -> metrics.jsonl key (crates/train/src/run/metrics.rs, StepMetrics::scalars).
TAGS = {
    "loss/critic": "critic_loss",
    "loss/generator": "generator_loss",
    "loss/wasserstein_estimate": "wasserstein_estimate",
    "loss/gradient_penalty": "gradient_penalty",
    "time/elapsed_s": "elapsed_s",
    "speed/steps_per_s": "steps_per_s",
    "quality/fd_fmnist": "fd_fmnist",
    "quality/inception_score": "inception_score",
    "quality/inception_score_std": "inception_score_std",
}
SAMPLES_TAG = "samples/fixed_noise"
CONFIG_TAG = "config"


def fail(message):
    print(f"check_tensorboard: {message}", file=sys.stderr)
    sys.exit(1)


def float32(value):
    return struct.unpack("f", struct.pack("f", value))[0]


def png_size(data):
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail("a sample grid is not a PNG")
    return struct.unpack(">II", data[16:24])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("run", type=Path)
    parser.add_argument("--grid-size", type=int, required=True)
    args = parser.parse_args()

    records = [json.loads(line) for line in (args.run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    accumulator = event_accumulator.EventAccumulator(
        str(args.run / "tensorboard"),
        size_guidance={
            event_accumulator.SCALARS: 0,
            event_accumulator.IMAGES: 0,
            event_accumulator.TENSORS: 0,
        },
    )
    accumulator.Reload()
    tags = accumulator.Tags()

    for tag, key in TAGS.items():
        expected = [(r["step"], float32(r[key])) for r in records if r.get(key) is not None]
        if not expected:
            if tag in tags["scalars"]:
                fail(f"{tag} is logged but metrics.jsonl has no {key}")
            continue
        if tag not in tags["scalars"]:
            fail(f"{tag} missing (metrics.jsonl has {key})")
        events = accumulator.Scalars(tag)
        steps = [event.step for event in events]
        if len(steps) != len(set(steps)):
            duplicates = sorted({s for s in steps if steps.count(s) > 1})
            fail(f"{tag}: steps logged twice: {duplicates}")
        actual = [(event.step, event.value) for event in events]
        if actual != expected:
            fail(f"{tag}: {actual[:5]}… differs from metrics.jsonl {expected[:5]}…")
    unknown = set(tags["scalars"]) - set(TAGS)
    if unknown:
        fail(f"scalar tags not in metrics.jsonl: {sorted(unknown)}")

    images = accumulator.Images(SAMPLES_TAG)
    image_steps = [image.step for image in images]
    if not images or len(image_steps) != len(set(image_steps)):
        fail(f"{SAMPLES_TAG}: steps {image_steps}")
    for image in images:
        size = png_size(image.encoded_image_string)
        if size != (args.grid_size, args.grid_size) or (image.width, image.height) != size:
            fail(f"{SAMPLES_TAG} at step {image.step}: {size}, recorded {image.width}×{image.height}")

    if CONFIG_TAG not in accumulator.PluginTagToContent("text"):
        fail("no config text")
    config = accumulator.Tensors(CONFIG_TAG)[0].tensor_proto.string_val[0].decode()
    if "[model]" not in config:
        fail(f"the config text is not the config: {config[:80]}")
    hparams = accumulator.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(hparams["_hparams_/session_start_info"])
    if "model.dim" not in start.session_start_info.hparams:
        fail(f"hparams without model.dim: {sorted(start.session_start_info.hparams)}")

    print(json.dumps({
        "steps": len(records),
        "scalar_tags": sorted(tags["scalars"]),
        "grids": image_steps,
        "hparams": sorted(start.session_start_info.hparams),
        "finished": "_hparams_/session_end_info" in hparams,
    }))


if __name__ == "__main__":
    main()
