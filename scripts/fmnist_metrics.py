#!/usr/bin/env python3
"""FD-FMNIST, the classifier Inception Score, KID, precision and recall with NumPy alone.

The twin of `wgan eval`: the same shipped classifier weights (read from the safetensors
file directly), the same forward pass, statistics and protocol, so that samples from any
framework can be scored on wgan's scale.

    python3 scripts/fmnist_metrics.py SAMPLES.npy [--json] [--features-out F.npy]

SAMPLES.npy: [N, 1, 32, 32] or [N, 32, 32] float32 in [-1, 1] (as `wgan sample` writes), or
uint8 in [0, 255] (scaled as x / 127.5 - 1). The reference set is the 10 000 Fashion-MNIST
test images (t10k-images-idx3-ubyte.gz), resized 28 -> 32 with bilinear half-pixel
interpolation and scaled to [-1, 1]; --fmnist names their directory.

Protocol (see README, "Sample quality"):
- features: the classifier's 256-d penultimate layer (after ReLU), computed in float64;
- FD: Gaussians with unbiased covariances; trace term from symmetric eigendecompositions;
- IS: 10 consecutive equal splits, exp(mean KL(p(y|x) || p(y))), mean and population std;
- KID: cubic polynomial kernel (x.y/d + 1)^3, unbiased MMD^2 on consecutive disjoint subsets
  of min(1000, N, N_ref) points (sample subset s against reference subset s), mean and std;
- precision/recall: k = 3 nearest-neighbour balls (the point itself excluded), all points.
"""

import argparse
import gzip
import json
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_WEIGHTS = os.path.join(HERE, "..", "assets", "fd-fmnist", "classifier.safetensors")
DEFAULT_FMNIST = "/usr/share/datasets/fashion-mnist"
IS_SPLITS = 10
KID_SUBSET_SIZE = 1000
NEAREST_NEIGHBOURS = 3
CHUNK = 250
BLOCK = 512


def load_safetensors(path):
    """{name: float64 array} and the header metadata of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    metadata = header.pop("__metadata__", {})
    body = data[8 + header_len :]
    tensors = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            sys.exit(f"{path}: tensor {name} is {info['dtype']}, expected F32")
        start, end = info["data_offsets"]
        values = np.frombuffer(body[start:end], dtype="<f4").astype(np.float64)
        tensors[name] = values.reshape(info["shape"])
    return tensors, metadata


def conv2d(x, weight, bias, stride, padding):
    """[N, C, H, W] * [O, C, k, k] -> [N, O, H', W'] (cross-correlation, as PyTorch)."""
    k = weight.shape[-1]
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    out = np.tensordot(windows, weight, axes=([1, 4, 5], [1, 2, 3]))  # [N, H', W', O]
    return out.transpose(0, 3, 1, 2) + bias[None, :, None, None]


def max_pool2(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def relu(x):
    return np.maximum(x, 0.0)


def classify(weights, images):
    """Features [N, 256] and class probabilities [N, 10] of images [N, 1, 32, 32] in [-1, 1]."""
    features, probabilities = [], []
    for start in range(0, len(images), CHUNK):
        x = images[start : start + CHUNK].astype(np.float64)
        x = relu(conv2d(x, weights["stem.weight"], weights["stem.bias"], 2, 2))
        for block in range(2):
            w, b = weights[f"blocks.{block}.conv.weight"], weights[f"blocks.{block}.conv.bias"]
            x = max_pool2(relu(conv2d(x, w, b, 1, 1)))
        x = x.reshape(len(x), -1)
        f = relu(x @ weights["features.weight"].T + weights["features.bias"])
        logits = f @ weights["logits.weight"].T + weights["logits.bias"]
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        features.append(f)
        probabilities.append(p / p.sum(axis=1, keepdims=True))
    return np.concatenate(features), np.concatenate(probabilities)


def taps(size_in, size_out):
    scale = size_in / size_out
    source = np.maximum((np.arange(size_out) + 0.5) * scale - 0.5, 0.0)
    lower = np.minimum(np.floor(source).astype(int), size_in - 1)
    upper = np.minimum(lower + 1, size_in - 1)
    return lower, upper, source - lower


def resize_bilinear(images, size):
    """[N, h, w] bytes -> [N, size, size] in [-1, 1]: half-pixel bilinear, as wgan's loader."""
    images = images.astype(np.float64)
    lo, hi, wt = taps(images.shape[2], size)
    wide = images[:, :, lo] + (images[:, :, hi] - images[:, :, lo]) * wt
    lo, hi, wt = taps(images.shape[1], size)
    tall = wide[:, lo, :] + (wide[:, hi, :] - wide[:, lo, :]) * wt[:, None]
    return (tall - 127.5) / 127.5


def read_idx_images(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, count, rows, columns = struct.unpack(">IIII", data[:16])
    if magic != 2051:
        sys.exit(f"{path}: not an IDX image file (magic {magic})")
    return np.frombuffer(data[16:], dtype=np.uint8).reshape(count, rows, columns)


def reference_images(fmnist_dir):
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"):
        path = os.path.join(fmnist_dir, name)
        if os.path.exists(path):
            return resize_bilinear(read_idx_images(path), 32)[:, None]
    sys.exit(f"no Fashion-MNIST test images in {fmnist_dir} (install dataset-fashion-mnist or pass --fmnist)")


def load_samples(path):
    x = np.load(path)
    if x.dtype == np.uint8:
        x = x.astype(np.float64) / 127.5 - 1.0
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1:] != (1, 32, 32):
        sys.exit(f"{path}: shape {x.shape}; expected [N, 1, 32, 32] or [N, 32, 32]")
    if x.min() < -1.0 or x.max() > 1.0:
        sys.exit(f"{path}: values outside [-1, 1]")
    return x


def gaussian(features):
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(a, b):
    (mu1, s1), (mu2, s2) = a, b
    values, vectors = np.linalg.eigh(s1)
    root = (vectors * np.sqrt(np.maximum(values, 0.0))) @ vectors.T
    inner = root @ s2 @ root
    inner = (inner + inner.T) / 2
    trace_root = np.sqrt(np.maximum(np.linalg.eigvalsh(inner), 0.0)).sum()
    return max(float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * trace_root), 0.0)


def inception_score(p):
    part = len(p) // IS_SPLITS
    scores = []
    for s in range(IS_SPLITS):
        q = p[s * part : (s + 1) * part]
        marginal = q.mean(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(q > 0, q * (np.log(q) - np.log(marginal)), 0.0).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def mmd2_unbiased(x, y):
    d, m = x.shape[1], len(x)
    kxx, kyy, kxy = ((x @ x.T) / d + 1) ** 3, ((y @ y.T) / d + 1) ** 3, ((x @ y.T) / d + 1) ** 3
    within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return within - 2 * kxy.sum() / (m * m)


def kid(samples, reference):
    size = min(KID_SUBSET_SIZE, len(samples), len(reference))
    subsets = min(len(samples), len(reference)) // size
    values = [mmd2_unbiased(samples[s * size : (s + 1) * size], reference[s * size : (s + 1) * size]) for s in range(subsets)]
    return float(np.mean(values)), float(np.std(values)), subsets, size


def squared_distances(a, b):
    return np.maximum((a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * a @ b.T, 0.0)


def radii(x, k):
    out = np.empty(len(x))
    for start in range(0, len(x), BLOCK):
        d = squared_distances(x[start : start + BLOCK], x)
        d[np.arange(len(d)), start + np.arange(len(d))] = np.inf  # the point itself
        out[start : start + BLOCK] = np.partition(d, k - 1, axis=1)[:, k - 1]
    return out


def precision_recall(samples, reference, reference_radii):
    sample_radii = radii(samples, NEAREST_NEIGHBOURS)
    precise = 0
    recalled = np.zeros(len(reference), dtype=bool)
    for start in range(0, len(samples), BLOCK):
        d = squared_distances(samples[start : start + BLOCK], reference)
        precise += int((d <= reference_radii[None, :]).any(axis=1).sum())
        recalled |= (d <= sample_radii[start : start + BLOCK, None]).any(axis=0)
    return precise / len(samples), float(recalled.mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("samples", help="SAMPLES.npy")
    parser.add_argument("--weights", default=DEFAULT_WEIGHTS, help="classifier safetensors file (default: the reference)")
    parser.add_argument("--fmnist", default=os.environ.get("WGAN_FASHION_MNIST", DEFAULT_FMNIST), help="directory of the Fashion-MNIST IDX files")
    parser.add_argument("--features-out", help="write the samples' features [N, 256] float32 here")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    weights, _ = load_safetensors(args.weights)
    samples = load_samples(args.samples)
    sample_features, probabilities = classify(weights, samples)
    reference_features, _ = classify(weights, reference_images(args.fmnist))
    if args.features_out:
        np.save(args.features_out, sample_features.astype(np.float32))
    fd = frechet_distance(gaussian(sample_features), gaussian(reference_features))
    is_mean, is_std = inception_score(probabilities)
    kid_mean, kid_std, subsets, size = kid(sample_features, reference_features)
    precision, recall = precision_recall(sample_features, reference_features, radii(reference_features, NEAREST_NEIGHBOURS))
    report = {
        "samples": len(samples),
        "fd_fmnist": fd,
        "inception_score": is_mean,
        "inception_score_std": is_std,
        "kid": kid_mean,
        "kid_std": kid_std,
        "kid_subsets": subsets,
        "kid_subset_size": size,
        "precision": precision,
        "recall": recall,
    }
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key:20} {value}")


if __name__ == "__main__":
    main()
