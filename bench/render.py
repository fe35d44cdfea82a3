"""Benchmark: naive one-draw-per-image rendering vs `unnatural render`, render-only vs end to end.

Prints a Markdown table (copy it into docs/BENCHMARKS.md with the machine it ran on):
- naive: one draw + readback + encode per image (the Shaders21k way) over the same default mix,
  in as many render processes as `unnatural render` uses, programs compiled beforehand;
- render-only: the job's worker pool rendering whole shards (tiles, quality filter) without
  encoding or writing;
- end to end: `render_dataset` writing shards + manifest to disk (pool start-up included);
all on the default mix (every family + the composed pool). Run twice if the Mesa shader cache
(~/.cache/mesa_shader_cache) is cold: the first run pays ~0.1-0.2 s of LLVM compile per program.

usage: python bench/render.py [--sizes 32,64,128,256] [--formats npy,jpg,png] [--scale 1.0]
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import queue
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from unnatural.generator import job
from unnatural.generator.encoders import make_encoder
from unnatural.generator.renderer import Renderer
from unnatural.generator.sampling import ProgramTable
from unnatural.generator.shard import render_samples
from unnatural.generator.spec import DatasetSpec

IMAGES = {32: 60_000, 64: 20_000, 128: 6_000, 256: 2_000}    # end-to-end images per size
NAIVE_IMAGES = {32: 3_000, 64: 2_000, 128: 1_000, 256: 400}


def _compile_all(_: int) -> int:
    """Compile (and JIT) every program of the table in this worker: one untiled image each."""
    table, renderer = job._worker["table"], job._worker["renderer"]
    params = np.full((1, 16), 0.5, dtype=np.float32)
    for prog in range(len(table.program_ids)):
        renderer.render(table.source(prog), np.ones(1, np.float32), params, table.spec.size, tiled=False)
    return len(table.program_ids)


def _naive(indices: np.ndarray) -> int:
    """The naive loop in a worker: per image one draw of its program, one readback, one encode."""
    table, renderer = job._worker["table"], job._worker["renderer"]
    spec = table.spec
    encode = make_encoder(spec.format, spec.quality)
    draw = table.draw(indices)
    for i in range(len(indices)):
        image, _ = renderer.render(table.source(draw.program[i]), draw.time[i:i + 1], draw.params[i:i + 1],
                                   spec.size, tiled=False)
        encode(image)
    return len(indices)


def _render_only(k: int) -> int:
    table = job._worker["table"]
    r = table.spec.shard_range(k)
    render_samples(table, job._worker["renderer"], np.arange(r.start, r.stop))
    return len(r)


def pool_rate(spec: DatasetSpec, workers: int, task, items) -> float:
    """Images/s of ``task`` mapped over ``items`` by ``workers`` spawned render processes set
    up as the job's pool sets them up (one EGL context each, one llvmpipe thread each); pool
    start-up and every program's compile excluded."""
    ctx = mp.get_context("spawn")
    table = ProgramTable(spec)
    progress, devices = ctx.Queue(), ctx.Queue()
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=job._init_worker,
                             initargs=(table, progress, devices, True, os.getpid())) as pool:
        list(pool.map(_compile_all, range(workers)))
        start = time.perf_counter()
        total = sum(pool.map(task, items))
        rate = total / (time.perf_counter() - start)
    while True:                                                 # drain progress messages
        try:
            progress.get_nowait()
        except queue.Empty:
            break
    return rate


def naive_rate(spec: DatasetSpec, workers: int) -> float:
    """The naive loop over all of ``spec``'s images, split evenly over ``workers`` processes."""
    return pool_rate(spec, workers, _naive, np.array_split(np.arange(spec.images), workers))


def render_only_rate(spec: DatasetSpec, workers: int) -> float:
    """The job's pool rendering every shard (tiles, quality filter), no encode and no write."""
    return pool_rate(spec, workers, _render_only, range(spec.num_shards))


def end_to_end_rate(spec: DatasetSpec, workers: int) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        job.render_dataset(spec, out, workers=workers, progress=False)
        return spec.images / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="32,64,128,256")
    ap.add_argument("--formats", default="npy,jpg,png")
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--scale", type=float, default=1.0, help="multiply image counts (e.g. 0.2 for a quick run)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    formats = args.formats.split(",")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}; "
          f"renderer: {Renderer().ctx.info['GL_RENDERER']}; workers: {args.workers} (naive and render alike)\n")
    print("| size | format | naive img/s | unnatural render img/s (end to end) | end to end / naive "
          "| render-only img/s | end to end / render-only | load |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        n = max(args.workers * 200, int(IMAGES[size] * args.scale))
        per_shard = max(100, n // (args.workers * 8))
        base = DatasetSpec(width=size, height=size, images=n, images_per_shard=per_shard)
        render_only = render_only_rate(base, args.workers)
        for fmt in formats:
            spec = base.replace(format=fmt)
            naive = naive_rate(spec.replace(images=max(args.workers * 50, int(NAIVE_IMAGES[size] * args.scale))),
                               args.workers)
            e2e = end_to_end_rate(spec, args.workers)
            print(f"| {size} | {fmt} | {naive:,.0f} | {e2e:,.0f} | {e2e / naive:.1f}x | {render_only:,.0f} "
                  f"| {e2e / render_only:.2f} | {os.getloadavg()[0]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
