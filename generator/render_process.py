"""Render processes: how many to start, and how one starts. Used by the local render job
(:mod:`unnatural.generator.job`), the Ray actors (:mod:`unnatural.generator.ray_launcher`) and
the server's render pool (:mod:`unnatural.server.worker`).

Each render process owns exactly one EGL context, created after the process starts
(docs/DESIGN.md, "One GL context per process").
"""
from __future__ import annotations

import os
import threading
import time


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
