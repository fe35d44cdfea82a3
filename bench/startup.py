"""Benchmark: start-up and memory of render processes, time to the first shard.

Prints two Markdown tables:
- one render process (spawned as the job's pool spawns them) rendering one task of 32 px
  shards of the default mix: seconds to import and create its GL context, seconds to render
  the task, resident memory (peak and now, MiB), and whether torch / webdataset were imported;
- ``unnatural render --out DIR --images N --size 32`` (the README's demo, ``make demo``) with
  Mesa's shader cache cold (an empty ``MESA_SHADER_CACHE_DIR``), then warm (the same folder
  again): seconds from launch to the first finished shard, and to the end.

usage: python bench/startup.py [--images 10000] [--task-images 2000]
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def _one_render_process(images: int, launched: float, out: mp.Queue) -> None:
    started = time.time()
    from unnatural.generator.job import render_shards
    from unnatural.generator.render_process import start_render_process
    from unnatural.generator.sampling import ProgramTable
    from unnatural.generator.spec import DatasetSpec

    renderer = start_render_process(None, None, True)
    ready = time.time()
    spec = DatasetSpec(images=images, images_per_shard=images // 4)
    render_shards(ProgramTable(spec), renderer, [0, 1, 2, 3])
    done = time.time()
    out.put({"spawn_s": started - launched, "ready_s": ready - started, "task_s": done - ready,
             "peak_mib": _status_mib("VmHWM"), "rss_mib": _status_mib("VmRSS"),
             "torch": "torch" in sys.modules, "webdataset": "webdataset" in sys.modules})


def render_process_figures(images: int) -> dict:
    """Figures of one spawned render process rendering ``images`` 32 px images in 4 shards."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_one_render_process, args=(images, time.time(), out))
    proc.start()
    result = out.get(timeout=600)
    proc.join()
    return result


def first_shard(images: int, cache: Path) -> tuple[float, float]:
    """Seconds from launching ``unnatural render`` to its first shard on disk, and to its exit."""
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "MESA_SHADER_CACHE_DIR": str(cache)}
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "unnatural", "render", "--out", out, "--images", str(images),
                                 "--size", "32", "--no-progress"], env=env, stdout=subprocess.DEVNULL)
        first = None
        while proc.poll() is None:
            if first is None and any(not p.name.startswith(".") for p in Path(out).glob("*.tar")):
                first = time.perf_counter() - start
            time.sleep(0.01)
        total = time.perf_counter() - start
        if proc.returncode:
            raise SystemExit(f"unnatural render exited {proc.returncode}")
        return first if first is not None else total, total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=10_000, help="images of the `unnatural render` runs")
    ap.add_argument("--task-images", type=int, default=2_000, help="images the single render process renders")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}\n")
    r = render_process_figures(args.task_images)
    print("| render process | spawn s | import + GL context s | task s | peak RSS MiB | RSS MiB | torch | webdataset |")
    print("|---|---:|---:|---:|---:|---:|---|---|")
    print(f"| {args.task_images} images, 32 px, 4 shards | {r['spawn_s']:.2f} | {r['ready_s']:.2f} | {r['task_s']:.2f} "
          f"| {r['peak_mib']:.0f} | {r['rss_mib']:.0f} | {r['torch']} | {r['webdataset']} |\n", flush=True)
    print(f"| `unnatural render --images {args.images} --size 32` | first shard s | total s |")
    print("|---|---:|---:|")
    with tempfile.TemporaryDirectory() as cache:
        for state in ("cold", "warm"):
            first, total = first_shard(args.images, Path(cache))
            print(f"| shader cache {state} | {first:.2f} | {total:.2f} |", flush=True)


if __name__ == "__main__":
    main()
