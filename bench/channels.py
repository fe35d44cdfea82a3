"""Benchmark: should a spec offer grey rendering for 1-channel teachers? What RGB costs a grey
teacher today: the luma conversion on the trainer (``as_float_images``, BT.601) per batch, and
the bytes per sample of RGB shards against the same images stored grey (what a grey rendering
option would write).

Renders one shard of the default mix at ``--size`` (npy and png), converts each image to luma
with PIL's "L" (the same BT.601 weights), re-encodes it, and times ``as_float_images`` 3 -> 1
against 1 -> 1 on a uint8 batch. Prints a Markdown table (docs/BENCHMARKS.md).

usage: python bench/channels.py [--size 32] [--images 1000] [--batch-size 128]
"""
from __future__ import annotations

import argparse
import io
import platform
import statistics
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from unnatural.distill.kd import as_float_images
from unnatural.generator.job import render_dataset
from unnatural.generator.spec import DatasetSpec


def member_bytes(shard: Path, ext: str) -> tuple[int, list[bytes]]:
    """Total bytes of the image members with extension ``ext``, and the members."""
    with tarfile.open(shard) as tar:
        data = [tar.extractfile(m).read() for m in tar.getmembers() if m.name.endswith("." + ext)]
    return sum(map(len, data)), data


def grey_bytes(images: list[np.ndarray], fmt: str) -> int:
    """Bytes of the same images stored as 1-channel luma in ``fmt`` (npy or png, level 1 as the renderer)."""
    total = 0
    for rgb in images:
        luma = np.asarray(Image.fromarray(rgb).convert("L"))
        buf = io.BytesIO()
        if fmt == "npy":
            np.save(buf, luma)
        else:
            Image.fromarray(luma).save(buf, format="png", compress_level=1)
        total += buf.tell()
    return total


def median_us(fn, repeats: int = 50) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=128)
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rgb_images = None
        for fmt in ("npy", "png"):
            spec = DatasetSpec(name=fmt, width=args.size, height=args.size, images=args.images,
                               images_per_shard=args.images, format=fmt)
            render_dataset(spec, Path(tmp) / fmt, workers=1, progress=False)
            total, members = member_bytes(Path(tmp) / fmt / spec.shard_name(0), fmt)
            if fmt == "npy":
                rgb_images = [np.load(io.BytesIO(m)) for m in members]
            grey = grey_bytes(rgb_images, fmt)
            rows.append(f"| {fmt} image member, bytes per sample | {total / args.images:,.0f} | "
                        f"{grey / args.images:,.0f} | {grey / total:.2f} |")
    batch_rgb = torch.from_numpy(np.stack(rgb_images[:args.batch_size])).permute(0, 3, 1, 2).contiguous()
    batch_grey = batch_rgb[:, :1].contiguous()
    cpu = torch.device("cpu")
    rgb_us = median_us(lambda: as_float_images(batch_rgb, cpu, args.size, 1))
    grey_us = median_us(lambda: as_float_images(batch_grey, cpu, args.size, 1))
    rows.append(f"| `as_float_images` of a uint8 batch of {args.batch_size} to 1 channel, µs | {rgb_us:,.0f} | "
                f"{grey_us:,.0f} | {grey_us / rgb_us:.2f} |")
    print(f"{platform.machine()}, 1 torch thread, {args.size} px, default mix, {args.images} images\n")
    print("| what | RGB (today) | grey | grey / RGB |\n|---|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
