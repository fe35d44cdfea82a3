"""Benchmark: does a Python thread run while the render thread waits in the GL readback?

Issue 15 item 3 asks for readback, encoding and writes to overlap. Within one render process
that needs the readback (``Framebuffer.read``, where llvmpipe shades and where a GPU driver waits
for the GPU) to release the GIL. This measures it: a second thread counts in a Python loop,
first alone, then while the main thread renders atlases of the default mix's first program; the
table gives its count per second during the readbacks (near zero: the GIL is held).

usage: python bench/readback_gil.py [--size 32] [--images 4096] [--seconds 1]
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time

import numpy as np


class Counter(threading.Thread):
    """Counts loop iterations until stopped; ``count`` is read by the main thread."""

    def __init__(self):
        super().__init__(daemon=True)
        self.count, self.stop = 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.count += 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=32, help="image side in pixels")
    ap.add_argument("--images", type=int, default=4096, help="images per render call")
    ap.add_argument("--seconds", type=float, default=1.0, help="how long each phase runs")
    args = ap.parse_args()
    os.environ.setdefault("LP_NUM_THREADS", "0")   # as in a render process sharing the cores
    import moderngl

    from unnatural.generator.context import gl_info
    from unnatural.generator.render_process import start_render_process
    from unnatural.generator.sampling import ProgramTable
    from unnatural.generator.spec import DatasetSpec

    renderer = start_render_process(None, None, software_threads=True)
    table = ProgramTable(DatasetSpec(images=args.images, width=args.size, height=args.size))
    rng = np.random.default_rng(0)
    times = rng.uniform(0.1, 10, args.images).astype(np.float32)
    params = rng.random((args.images, 16), dtype=np.float32)
    program = table.source(0)
    renderer.render(program, times, params, table.spec.size)   # compile outside the timing
    sys.setswitchinterval(0.001)

    counter = Counter()
    counter.start()
    time.sleep(args.seconds)
    alone = counter.count / args.seconds

    read, in_read = moderngl.Framebuffer.read, [0.0, 0]

    def timed_read(self, *a, **k):
        before, t0 = counter.count, time.perf_counter()
        try:
            return read(self, *a, **k)
        finally:
            in_read[0] += time.perf_counter() - t0
            in_read[1] += counter.count - before

    moderngl.Framebuffer.read = timed_read
    try:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < args.seconds:
            renderer.render(program, times, params, table.spec.size)
    finally:
        moderngl.Framebuffer.read = read
        counter.stop.set()
    print(f"renderer: {gl_info(renderer.ctx)['GL_RENDERER']}, {args.size} px, {args.images} images per call")
    print("| second thread | loop iterations/s |")
    print("|---|---:|")
    print(f"| alone | {alone:,.0f} |")
    print(f"| while the main thread is in Framebuffer.read ({in_read[0]:.2f} s) | {in_read[1] / in_read[0]:,.0f} |")


if __name__ == "__main__":
    main()
