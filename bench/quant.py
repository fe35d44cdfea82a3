"""Benchmark: the cost of dynamic fake quantization (unnatural.distill.quant.DynamicQuantizer) on a
forward pass, per model, against the float model.

Modes: ``float`` (the quantizer attached, every layer at float: the wrapper's overhead only),
``uniform 8`` (every layer W8A8), ``per layer mixed`` (a random budget-5 policy, per-tensor
ranges), ``per example mixed`` (each example its own random budget-5 policy and per-example
ranges: each layer runs once per distinct bit-width in the batch). Untrained models (speed does
not depend on the weights), eval mode, no gradients; the median of ``--repeats`` timed passes
after two warm-up passes.

Prints a Markdown table (copy it into docs/BENCHMARKS.md with the machine it ran on).

usage: python bench/quant.py [--batch-size 256] [--size 32] [--repeats 10] [--models resnet8,resnet18]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from unnatural.distill.models import create_model
from unnatural.distill.policy import random_policy
from unnatural.distill.quant import DynamicQuantizer


def median_ms(model, x, repeats: int) -> float:
    with torch.no_grad():
        for _ in range(2):
            model(x)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--models", default="resnet8,resnet18")
    args = ap.parse_args()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(args.batch_size, 3, args.size, args.size, generator=g)
    print(f"{platform.node()} {platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"batch {args.batch_size} at {args.size}x{args.size}, median of {args.repeats}\n")
    print("| model | layers | plain ms | float (attached) | uniform 8 | per layer mixed | per example mixed |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in args.models.split(","):
        model = create_model(name).eval()
        plain = median_ms(model, x, args.repeats)
        row = []
        for per_example in (False, True):
            with DynamicQuantizer(model, per_example=per_example) as q:
                if not per_example:
                    L = q.num_layers
                    for bits in (None, 8, random_policy(L, 5, g)):
                        q.set_bits(bits)
                        row.append(median_ms(model, x, args.repeats))
                else:
                    q.set_bits(random_policy(L, 5, g, n=args.batch_size))
                    row.append(median_ms(model, x, args.repeats))
        cells = " | ".join(f"{ms:.1f} ({ms / plain:.2f}x)" for ms in row)
        print(f"| {name} | {L} | {plain:.1f} | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
