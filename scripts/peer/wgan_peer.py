#!/usr/bin/env python3
"""The PyTorch peer of `wgan bench`: the same networks and training step, timed the same way.

    wgan info --json --config configs/wgan-gp.toml --set model.dim=64 > resolved.json
    python3 scripts/peer/wgan_peer.py resolved.json --steps 10 --warmup 2 --threads 2

The architecture and every hyperparameter come from the resolved config that `wgan info
--json` prints (its "config" object), so both sides train the same model: the generator
(Linear -> BatchNorm1d -> ReLU -> 4x4, then per stage x2 bilinear upsample, 5x5 conv,
BatchNorm2d, ReLU; upsample, conv, tanh) and the critic (5x5 stride-2 convs with padding 2,
[BatchNorm], LeakyReLU, Linear to one score). One timed generator step is n_critic critic
steps (fresh real batch, fresh z, fake = G(z).detach(), D(real), D(fake), the gradient
penalty by double backward or weight clipping afterwards, backward, optimizer step) and one
generator step. Real batches are drawn from a tensor of uniform noise in [-1, 1] the size of
a small dataset: data loading is not what is compared (it is < 1 % of wgan's step).

Prints one JSON object with median_step_s and steps_per_s. Needs torch.
"""

import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn


class Generator(nn.Module):
    def __init__(self, m):
        super().__init__()
        dim, widths, k, bn = m["dim"], m["generator_widths"], m["kernel_size"], m["batch_norm"]
        self.base = dim * widths[0]
        self.project = nn.Linear(m["latent_dim"], self.base * 16)
        self.project_norm = nn.BatchNorm1d(self.base * 16, eps=bn["epsilon"], momentum=bn["momentum"])
        self.convs = nn.ModuleList(nn.Conv2d(dim * a, dim * b, k, padding=k // 2) for a, b in zip(widths, widths[1:]))
        self.norms = nn.ModuleList(
            nn.BatchNorm2d(dim * b, eps=bn["epsilon"], momentum=bn["momentum"]) for b in widths[1:]
        )
        self.output = nn.Conv2d(dim * widths[-1], m["channels"], k, padding=k // 2)

    def forward(self, z):
        x = F.relu(self.project_norm(self.project(z))).view(z.shape[0], self.base, 4, 4)
        for conv, norm in zip(self.convs, self.norms):
            x = F.relu(norm(conv(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))))
        return torch.tanh(self.output(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)))


class Critic(nn.Module):
    def __init__(self, m):
        super().__init__()
        dim, k, bn = m["dim"], m["kernel_size"], m["batch_norm"]
        channels = [m["channels"]] + [dim * w for w in m["critic_widths"]]
        self.convs = nn.ModuleList(
            nn.Conv2d(a, b, k, stride=2, padding=k // 2, bias=m["critic_conv_bias"])
            for a, b in zip(channels, channels[1:])
        )
        use_bn = m["critic_norm"] == "batch_norm"
        self.norms = nn.ModuleList(
            nn.BatchNorm2d(b, eps=bn["epsilon"], momentum=bn["momentum"]) if use_bn and i > 0 else nn.Identity()
            for i, b in enumerate(channels[1:])
        )
        self.slope = m["leaky_relu_slope"]
        side = m["image_size"] // 2 ** len(m["critic_widths"])
        self.output = nn.Linear(channels[-1] * side * side, 1)

    def forward(self, x):
        for conv, norm in zip(self.convs, self.norms):
            x = F.leaky_relu(norm(conv(x)), self.slope)
        return self.output(x.flatten(1))


def optimizer(params, o):
    if o["kind"] == "adam":
        return torch.optim.Adam(params, lr=o["learning_rate"], betas=(o["beta1"], o["beta2"]), eps=o["epsilon"])
    return torch.optim.RMSprop(params, lr=o["learning_rate"], alpha=o["alpha"], eps=o["epsilon"])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("resolved", help="output of `wgan info --json` (or its config object)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    with open(args.resolved) as f:
        resolved = json.load(f)
    config = resolved.get("config", resolved)
    m, schedule, lipschitz = config["model"], config["schedule"], config["lipschitz"]
    torch.set_num_threads(args.threads)
    torch.manual_seed(config["seed"])
    device = torch.device(args.device)
    batch, n_critic, latent = config["data"]["batch_size"], schedule["n_critic"], m["latent_dim"]

    generator, critic = Generator(m).to(device), Critic(m).to(device)
    g_opt = optimizer(generator.parameters(), config["optimizer"]["generator"])
    d_opt = optimizer(critic.parameters(), config["optimizer"]["critic"])
    data = torch.rand(4096, m["channels"], m["image_size"], m["image_size"], device=device) * 2 - 1

    def critic_step():
        real = data[torch.randint(0, data.shape[0], (batch,), device=device)]
        fake = generator(torch.randn(batch, latent, device=device)).detach()
        loss = critic(fake).mean() - critic(real).mean()
        if lipschitz["kind"] == "gradient_penalty":
            eps = torch.rand(batch, 1, 1, 1, device=device)
            mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
            (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
            loss = loss + lipschitz["gp_lambda"] * ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
        d_opt.zero_grad(set_to_none=True)
        loss.backward()
        d_opt.step()
        if lipschitz["kind"] == "weight_clip":
            with torch.no_grad():
                for p in critic.parameters():
                    p.clamp_(-lipschitz["clip_value"], lipschitz["clip_value"])
        return loss.item()

    def generator_step():
        loss = -critic(generator(torch.randn(batch, latent, device=device))).mean()
        g_opt.zero_grad(set_to_none=True)
        loss.backward()
        g_opt.step()
        return loss.item()

    def train_step():
        for _ in range(n_critic):
            critic_step()
        generator_step()
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(args.warmup):
        train_step()
    times = []
    for _ in range(args.steps):
        started = time.perf_counter()
        train_step()
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    report = {
        "peer": f"pytorch {torch.__version__}",
        "variant": config["preset"],
        "device": str(device),
        "threads": args.threads,
        "dim": m["dim"],
        "batch_size": batch,
        "n_critic": n_critic,
        "steps": args.steps,
        "median_step_s": median,
        "steps_per_s": 1 / median,
        "step_s": times,
    }
    json.dump(report, sys.stdout)
    print()


if __name__ == "__main__":
    main()
