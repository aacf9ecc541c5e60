#!/usr/bin/env python3
"""Load a generator exported by `wgan export` into the equivalent PyTorch module.

    python3 scripts/torch_generator.py generator.safetensors --out grid.png
    python3 scripts/torch_generator.py generator.safetensors \
        --noise samples.noise.npy --compare samples.npy --out grid.png

Needs torch, numpy and safetensors (`pip install torch numpy safetensors`).

The module mirrors wgan's generator: Linear -> BatchNorm1d -> ReLU -> reshape to 4x4, then per
stage a x2 bilinear upsample (align_corners=False), 5x5 conv with padding 2, BatchNorm2d,
ReLU, and finally upsample, conv, tanh. The architecture is read from the file's metadata.
With --noise, the noise `wgan sample` used is fed in; with --compare, the result is checked
against `wgan sample`'s output and the largest absolute difference is printed.
"""

import argparse
import struct
import sys
import tomllib
import zlib

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file
from torch import nn


class Block(nn.Module):
    def __init__(self, c_in, c_out, kernel, bn):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2)
        self.norm = nn.BatchNorm2d(c_out, eps=bn["epsilon"], momentum=bn["momentum"])


class Generator(nn.Module):
    def __init__(self, model):
        super().__init__()
        dim, widths, kernel, bn = model["dim"], model["generator_widths"], model["kernel_size"], model["batch_norm"]
        self.base_channels = dim * widths[0]
        projected = self.base_channels * 4 * 4
        self.project = nn.Linear(model["latent_dim"], projected)
        self.project_norm = nn.BatchNorm1d(projected, eps=bn["epsilon"], momentum=bn["momentum"])
        self.blocks = nn.ModuleList(Block(dim * a, dim * b, kernel, bn) for a, b in zip(widths, widths[1:]))
        self.output = nn.Conv2d(dim * widths[-1], model["channels"], kernel, padding=kernel // 2)

    def forward(self, z):
        x = F.relu(self.project_norm(self.project(z)))
        x = x.view(z.shape[0], self.base_channels, 4, 4)
        for block in self.blocks:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = F.relu(block.norm(block.conv(x)))
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        return torch.tanh(self.output(x))


def load(path):
    with safe_open(path, framework="pt") as f:
        model = tomllib.loads(f.metadata()["wgan.model"])
    generator = Generator(model)
    state = load_file(path)
    missing, unexpected = generator.load_state_dict(state, strict=False)
    missing = [name for name in missing if not name.endswith("num_batches_tracked")]
    if missing or unexpected:
        sys.exit(f"{path}: missing {missing}, unexpected {unexpected}")
    return generator.eval(), model


def write_png(path, images, columns=8, border=2):
    """images: [N, C, H, W] in [-1, 1] -> a grid PNG (grey for 1 channel)."""
    n, c, h, w = images.shape
    rows = -(-n // columns)
    grid = np.full((rows * (h + border) + border, columns * (w + border) + border, c), 128, np.uint8)
    pixels = np.round((np.clip(images, -1, 1) + 1) * 127.5).astype(np.uint8).transpose(0, 2, 3, 1)
    for i in range(n):
        y, x = border + (i // columns) * (h + border), border + (i % columns) * (w + border)
        grid[y : y + h, x : x + w] = pixels[i]
    height, width = grid.shape[:2]
    raw = b"".join(b"\x00" + grid[y].tobytes() for y in range(height))
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0 if c == 1 else 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("weights", help="generator.safetensors written by `wgan export`")
    parser.add_argument("--noise", help="[N, latent_dim] noise as NPY (e.g. FILE.noise.npy from `wgan sample`)")
    parser.add_argument("--compare", help="[N, C, H, W] samples as NPY to compare against (FILE.npy)")
    parser.add_argument("--n", type=int, default=64, help="samples to draw when no --noise is given")
    parser.add_argument("--out", default="torch-samples.png", help="grid PNG to write")
    args = parser.parse_args()

    generator, model = load(args.weights)
    if args.noise:
        z = torch.from_numpy(np.load(args.noise).astype(np.float32))
    else:
        z = torch.randn(args.n, model["latent_dim"], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        images = generator(z).numpy()
    write_png(args.out, images)
    print(f"wrote {args.out}: {images.shape[0]} samples of {tuple(images.shape[1:])}")
    if args.compare:
        expected = np.load(args.compare)
        difference = float(np.abs(images - expected).max())
        print(f"max |torch - wgan| = {difference:.3e}")
        if difference > 1e-4:
            sys.exit("outputs differ by more than 1e-4")


if __name__ == "__main__":
    main()
