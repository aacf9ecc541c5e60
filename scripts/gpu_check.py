#!/usr/bin/env python3
"""The checks and the report of scripts/gpu-check.sh (Python's standard library only).

    gpu_check.py CPU_METRICS GPU_METRICS TOLERANCE   agreement of two runs' losses, as JSON;
                                                     exit 1 past TOLERANCE (relative, floor 1)
    gpu_check.py --run RUN STEPS KILLED_AT           a killed and resumed run: every step
                                                     1..STEPS logged once, summary finished
    gpu_check.py --data-parallel ONE_RUN TWO_RUN     one device against two: median steps/s
                                                     of each (first 3 steps left out) and losses
    gpu_check.py --report PARTS RESULTS ELAPSED_S    the Markdown table of parts.jsonl, and
                                                     RESULTS (JSON) with every part in it
"""

import json
import sys

LOSSES = ("critic_loss", "generator_loss", "wasserstein_estimate", "gradient_penalty")


def read_jsonl(path):
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def agreement(cpu_path, gpu_path, tolerance):
    cpu, gpu = read_jsonl(cpu_path), read_jsonl(gpu_path)
    rows, worst = [], 0.0
    for a, b in zip(cpu, gpu):
        for name in LOSSES:
            x, y = a.get(name), b.get(name)
            if x is None and y is None:
                continue
            if x is None or y is None:
                relative = float("inf")
            else:
                relative = abs(x - y) / max(abs(x), 1.0)
            worst = max(worst, relative)
            rows.append({"step": a["step"], "metric": name, "cpu": x, "gpu": y, "relative_difference": relative})
    steps_match = len(cpu) == len(gpu) and len(cpu) > 0
    result = {"tolerance": tolerance, "largest_relative_difference": worst, "steps": len(cpu), "values": rows}
    print(json.dumps(result, indent=1))
    return 0 if steps_match and worst <= tolerance else 1


def resumed_run(run, steps, killed_at):
    logged = [entry["step"] for entry in read_jsonl(f"{run}/metrics.jsonl")]
    with open(f"{run}/summary.json", encoding="utf-8") as f:
        summary = json.load(f)
    once = logged == list(range(1, steps + 1))
    steps_per_s = summary.get("mean_steps_per_s")
    result = {
        "steps": steps,
        "killed_after_logged_steps": killed_at,
        "every_step_logged_once": once,
        "finished": summary.get("finished"),
        "mean_steps_per_s": steps_per_s,
        "seed_budget_5000_steps_s": 5000 / steps_per_s if steps_per_s else None,
        "device": summary.get("device"),
    }
    print(json.dumps(result, indent=1))
    return 0 if once and summary.get("finished") else 1


def median_steps_per_s(run):
    rates = sorted(entry["steps_per_s"] for entry in read_jsonl(f"{run}/metrics.jsonl")[3:] if entry.get("steps_per_s"))
    return rates[len(rates) // 2] if rates else None


def data_parallel(one_run, two_run):
    one, two = median_steps_per_s(one_run), median_steps_per_s(two_run)
    last = [read_jsonl(f"{run}/metrics.jsonl")[-1] for run in (one_run, two_run)]
    result = {
        "one_device_steps_per_s": one,
        "two_devices_steps_per_s": two,
        "speedup": two / one if one and two else None,
        "last_losses": [{name: entry.get(name) for name in LOSSES} for entry in last],
    }
    print(json.dumps(result, indent=1))
    return 0 if result["speedup"] else 1


def numbers(entry):
    """The headline of one part's result, for the table."""
    result = entry.get("result") or {}
    part = entry["part"]
    if part.startswith("agreement") and "largest_relative_difference" in result:
        return f"largest relative loss difference {result['largest_relative_difference']:.1e}"
    if part.startswith("bench") and "median_step_s" in result:
        text = f"{result['median_step_s']:.4f} s/step, {1 / result['median_step_s']:.1f} steps/s"
        if result.get("gflop_per_s") is not None:
            text += f", {result['gflop_per_s']:.0f} GFLOP/s"
        if result.get("peak_fraction") is not None:
            text += f" ({result['peak_fraction']:.2f} of a {result['peak_gflop_per_s']:.0f} GFLOP/s matmul)"
        return text
    if part.startswith("peer") and "ratio" in result:
        return (f"wgan {result['wgan_median_step_s']:.4f} s/step, PyTorch {result['pytorch_median_step_s']:.4f}: "
                f"time ratio {result['ratio']:.2f}, wgan {1 / result['ratio']:.2f}× PyTorch's steps/s")
    if part.startswith("data parallel") and result.get("speedup"):
        return (f"1 device {result['one_device_steps_per_s']:.2f} steps/s, 2 devices "
                f"{result['two_devices_steps_per_s']:.2f}: {result['speedup']:.2f}×")
    if part.startswith("run") and "mean_steps_per_s" in result:
        budget = result.get("seed_budget_5000_steps_s")
        return (f"{result['mean_steps_per_s']:.1f} steps/s; 5000 steps ≈ {budget:.0f} s; "
                f"every step logged once: {result['every_step_logged_once']}")
    return ""


def report(parts_path, results_path, elapsed_s):
    parts = read_jsonl(parts_path)
    print()
    print("| part | status | result | detail |")
    print("|---|---|---|---|")
    for entry in parts:
        detail = entry.get("detail", "").replace("|", "\\|")
        print(f"| {entry['part']} | {entry['status']} | {numbers(entry)} | {detail} |")
    print(f"\n{elapsed_s} s in all.")
    with open(results_path, "w", encoding="utf-8") as f:
        json.dump({"elapsed_s": int(elapsed_s), "parts": parts}, f, indent=1)
    print(f"JSON: {results_path}")
    return 1 if any(entry["status"] == "failed" for entry in parts) else 0


def main(argv):
    if len(argv) == 4 and argv[0] == "--run":
        return resumed_run(argv[1], int(argv[2]), int(argv[3]))
    if len(argv) == 4 and argv[0] == "--report":
        return report(argv[1], argv[2], argv[3])
    if len(argv) == 3 and argv[0] == "--data-parallel":
        return data_parallel(argv[1], argv[2])
    if len(argv) == 3:
        return agreement(argv[0], argv[1], float(argv[2]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
