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
    queue its workers report rendered-image counts on. ``devices`` holds one
    ``(program offset, EGL device or None)`` per worker.

    Each worker runs ``initializer(*args, progress, devices, software_threads, parent)``, which
    should call :func:`start_pooled_render_process` with the last three.
    """
    from .context import cuda_egl_devices

    ctx = mp.get_context("spawn")
    progress, devices = ctx.Queue(), ctx.Queue()
    gpus = [egl for egl, _ in cuda_egl_devices()]
    for i in range(workers):
        devices.put((i / workers, gpus[i % len(gpus)] if gpus else None))
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=initializer,
                               initargs=(*args, progress, devices, not gpus, os.getpid()))
    return pool, progress


def start_pooled_render_process(devices: mp.Queue, software_threads: bool, parent: int):
    """:func:`start_render_process` in a worker of :func:`spawn_render_pool`, on the next GPU
    of ``devices`` (the default device when none is left), its renderer's
    ``program_offset`` set to this worker's share (worker i of n starts at i/n of the programs
    of each batch, so that with a cold shader cache the workers compile different programs
    first and find the others in Mesa's disk cache)."""
    try:
        offset, device = devices.get_nowait()
    except queue.Empty:
        offset, device = 0.0, None
    renderer = start_render_process(parent, device, software_threads)
    renderer.program_offset = offset
    return renderer


# Watchdog limits, in seconds. One user shader's probe (user_shaders: compile + 9 draws at 64x64):
# a shader within user_shaders.MAX_MS_PER_PROBE needs under 1 s even with a slow 200 ms compile;
# 30 s leaves room for a machine loaded many times over, and past it the shader is hopeless.
PROBE_TIMEOUT_S = 30.0
# One task of the offline job (job.plan_tasks): at most job.TASK_BYTES of pixels (~90 Mpixel, under
# a minute on one llvmpipe core for the library's shaders) plus 60-200 ms per program compiled;
# 10 minutes leaves a loaded machine a wide margin, as the server's render_timeout (120 s) does
# its far smaller chunks.
TASK_TIMEOUT_S = 600.0
# Spawn + imports + EGL context, before a watched process takes its first call (as the server's
# pool allows its processes, server/pool.py START_TIMEOUT_S).
START_TIMEOUT_S = 120.0


class RenderTimeout(RuntimeError):
    """A call ran past its watchdog limit; its render process was killed (and restarts on the
    next call)."""


def serve_pipe(conn, start: Callable[[], tuple], handle: Callable) -> None:
    """Serve a render process's duplex pipe until the parent closes it.

    ``start()`` returns ``(renderer, ready payload)``; the payload is sent as ``("ready", payload)``,
    or ``("failed", message)`` if ``start`` raised (the process then exits). Each message read is
    answered in order with ``("ok", handle(renderer, message))``, or ``("error", message)`` when
    ``handle`` raised: a failed call leaves the process serving.
    """
    try:
        renderer, ready = start()
        conn.send(("ready", ready))
    except Exception as exc:  # tell the parent why this process cannot render, then exit
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply = ("ok", handle(renderer, message))
        except Exception as exc:  # the call failed, the process is fine: tell the parent why
            reply = ("error", f"{type(exc).__name__}: {exc}")
        conn.send(reply)


def _serve_calls(conn, parent: int, software_threads: bool) -> None:
    # A watched process: one renderer; (function, args) in, the function's result out.
    serve_pipe(conn, lambda: (start_render_process(parent, None, software_threads), None),
               lambda renderer, call: call[0](renderer, *call[1]))


class WatchedRenderProcess:
    """One spawned render process whose calls have a time limit: the offline counterpart of the
    server pool's watchdog (:mod:`unnatural.server.pool`), for work that may hang in the driver
    (a user shader with a huge loop), where no Python-level interrupt reaches the draw call.

    The process starts on the first :meth:`call` and again after a timeout; use as a context
    manager (or call :meth:`close`) so it never outlives its caller.
    """

    def __init__(self) -> None:
        self._ctx = mp.get_context("spawn")
        self._process: mp.process.BaseProcess | None = None
        self._conn = None

    @property
    def pid(self) -> int | None:
        """The running process's pid, ``None`` when none is running."""
        return self._process.pid if self._process is not None else None

    def _start(self) -> None:
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        # Not a daemon: a daemonic process may not start children, and close() reaps this one.
        self._process = self._ctx.Process(target=_serve_calls, name="unnatural-watched-render",
                                          args=(child_conn, os.getpid(), True))
        self._process.start()
        child_conn.close()  # the child's end lives in the child only: its exit gives us EOF
        self._conn = parent_conn
        kind, value = self._receive(START_TIMEOUT_S, "start")
        if kind != "ready":
            self.close()
            raise RuntimeError(f"render process failed to start: {value}")

    def _receive(self, timeout: float, what: str) -> tuple[str, object]:
        try:
            if self._conn.poll(timeout):
                return self._conn.recv()
        except (EOFError, OSError):
            self.close()
            raise RuntimeError(f"the render process exited during its {what}") from None
        self.close()
        raise RenderTimeout(f"{what} ran longer than {timeout:g} s; its render process was killed")

    def call(self, fn: Callable, *args, timeout: float):
        """``fn(renderer, *args)`` in the process, waiting at most ``timeout`` seconds (process
        start not included). ``fn`` and ``args`` must pickle (a module-level function).

        Raises:
            RenderTimeout: no answer within ``timeout``; the process was killed.
            RuntimeError: ``fn`` raised (the message holds its type and text), or the process
                failed to start or died.
        """
        if self._process is None:
            self._start()
        self._conn.send((fn, args))
        kind, value = self._receive(timeout, "call")
        if kind != "ok":
            raise RuntimeError(value)
        return value

    def close(self) -> None:
        """Kill the process (if any) and wait for it: it holds no state worth a graceful exit."""
        process, self._process = self._process, None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if process is not None:
            process.kill()
            process.join()

    def __enter__(self) -> "WatchedRenderProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
