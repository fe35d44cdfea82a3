"""Render processes: how many to start, and how one starts. Used by the local render job
(:mod:`unnatural.generator.job`), the Ray actors (:mod:`unnatural.generator.ray_launcher`) and
the server's render pool (:mod:`unnatural.server.worker`).

Each render process owns exactly one EGL context, created after the process starts
(docs/DESIGN.md, "One GL context per process").
"""
from __future__ import annotations

import multiprocessing as mp
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor


def default_workers() -> int:
    """One render process per NVIDIA GPU, else one per CPU core (Mesa llvmpipe)."""
    from .context import cuda_egl_devices

    gpus = cuda_egl_devices()
    return len(gpus) if gpus else (os.cpu_count() or 1)


def _watch_parent(parent: int) -> None:
    # A worker blocked on its task queue waits forever if the parent is killed (-9): exit instead.
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(0.5)


def start_render_process(parent: int | None, device: int | None, software_threads: bool):
    """Set up a freshly spawned render process and return its :class:`Renderer`.

    Starts a thread that exits the process when ``parent`` (the pid the parent passed in: if it
    died before this ran, ``getppid()`` is already the reaper's) is gone (``None``: no such
    thread, e.g. in a Ray actor, whose lifetime Ray manages), then creates the process's one EGL
    context on EGL device ``device`` (``None``: the default device).
    ``software_threads``: several processes share the cores, so llvmpipe renders in the calling
    thread (docs/METHODS.md §7: 2 processes x LP_NUM_THREADS=0 beat 1 process x 2 threads by 5x).

    Raises:
        GLUnavailableError: no EGL/GL libraries or no context on ``device``.
    """
    if software_threads:
        os.environ.setdefault("LP_NUM_THREADS", "0")
    if parent is not None:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    from .context import create_context
    from .renderer import Renderer

    return Renderer(create_context(device_index=device))


def spawn_render_pool(workers: int, initializer: Callable, *args) -> tuple[ProcessPoolExecutor, mp.Queue]:
    """A pool of ``workers`` spawned render processes, NVIDIA GPUs shared round-robin, and the
    queue its workers report rendered-image counts on.

    Each worker runs ``initializer(*args, progress, devices, software_threads, parent)``, which
    should call :func:`start_pooled_render_process` with the last three.
    """
    from .context import cuda_egl_devices

    ctx = mp.get_context("spawn")
    progress, devices = ctx.Queue(), ctx.Queue()
    gpus = [egl for egl, _ in cuda_egl_devices()]
    for i in range(workers):
        if gpus:
            devices.put(gpus[i % len(gpus)])
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=initializer,
                               initargs=(*args, progress, devices, not gpus, os.getpid()))
    return pool, progress


def start_pooled_render_process(devices: mp.Queue, software_threads: bool, parent: int):
    """:func:`start_render_process` in a worker of :func:`spawn_render_pool`, on the next GPU
    of ``devices`` (the default device when none is left)."""
    try:
        device = devices.get_nowait()
    except queue.Empty:
        device = None
    return start_render_process(parent, device, software_threads)
