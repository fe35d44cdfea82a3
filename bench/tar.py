"""Benchmark: packing rendered samples into shard bytes, µs per sample, ours vs webdataset.

For each format, renders ``--images`` samples of the default mix once (in this process, 32 px
unless ``--size``), then times, best of ``--repeats``:
- encode: :func:`~unnatural.generator.shard.encode_samples` (image encoding, metadata JSON,
  keys, for the whole batch);
- tar (ours): :func:`~unnatural.generator.tar.tar_archive` of those records;
- tar (TarWriter): webdataset's ``TarWriter`` writing the same records (the writer used before
  issue 15), whose bytes must be, and are checked to be, the same.

usage: python bench/tar.py [--formats npy,jpg,png,webp] [--size 32] [--images 4000]
"""
from __future__ import annotations

import argparse
import io
import os
import time

import numpy as np

from unnatural.generator.renderer import Renderer
from unnatural.generator.sampling import ProgramTable
from unnatural.generator.shard import encode_samples, render_samples
from unnatural.generator.spec import DatasetSpec
from unnatural.generator.tar import tar_archive


def best_us(fn, n: int, repeats: int) -> float:
    """Best of ``repeats`` timings of ``fn()``, in µs per sample of ``n``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e6 * min(times) / n


def tarwriter_bytes(records) -> bytes:
    import webdataset as wds

    buf = io.BytesIO()
    with wds.TarWriter(buf, encoder=False, mtime=0) as writer:
        for record in records.as_dicts():
            writer.write(record)
    return buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--formats", default="npy,jpg,png,webp")
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--images", type=int, default=4000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    renderer = Renderer()
    print(f"{args.size} px, {args.images} images of the default mix; load average {os.getloadavg()[0]:.2f}\n")
    print("| format | encode µs/sample | tar (ours) µs/sample | tar (TarWriter) µs/sample | TarWriter / ours |")
    print("|---|---:|---:|---:|---:|")
    for fmt in args.formats.split(","):
        spec = DatasetSpec(images=args.images, images_per_shard=args.images, format=fmt, width=args.size,
                           height=args.size)
        table = ProgramTable(spec)
        samples = render_samples(table, renderer, np.arange(args.images))
        records = encode_samples(table, samples)
        if tar_archive(records) != tarwriter_bytes(records):
            raise SystemExit(f"{fmt}: our tar differs from TarWriter's")
        encode = best_us(lambda: encode_samples(table, samples), args.images, args.repeats)
        ours = best_us(lambda: tar_archive(records), args.images, args.repeats)
        theirs = best_us(lambda: tarwriter_bytes(records), args.images, args.repeats)
        print(f"| {fmt} | {encode:.1f} | {ours:.1f} | {theirs:.1f} | {theirs / ours:.0f}x |", flush=True)


if __name__ == "__main__":
    main()
