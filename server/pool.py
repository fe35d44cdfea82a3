"""The render pool: spawned render processes fed from one bounded job queue, with a watchdog.

The event loop only moves messages: each process has a duplex pipe, jobs go down it from the
loop (small pickled dicts), results come back through one reader thread per process that blocks
on the pipe and hands each message to the loop. Nothing in this process renders (docs/DESIGN.md
"One GL context per process"; docs/METHODS.md §6 on Starlette's pool threads).

Backpressure: :meth:`RenderPool.submit` waits while the queue is full, and every response keeps
at most ``prefetch`` jobs outstanding (see :mod:`unnatural.server.streaming`), so memory is bounded by
``max_streams x prefetch`` chunks however slow the clients are.

Watchdog: a job that runs longer than ``render_timeout`` seconds (a shader that hangs the
driver) gets its process killed and restarted; the job fails with :class:`RenderTimeout` and
the response that asked for it ends with an error (see :mod:`unnatural.server.app`). A process that dies
is restarted the same way, whether it was running a job (which fails with :class:`WorkerDied`)
or idle (noticed at once: its pipe closes). A cancelled job (its client went away) is skipped
if it has not started; if it is running, its process gets :data:`CANCEL_GRACE_S` to finish (a
chunk is well under a second) and is then killed and restarted, so that a long job (dozens of
programs to compile) does not keep a process busy for nobody.
"""
from __future__ import annotations

import asyncio
import logging
import multiprocessing as mp
import os
import threading
import time
from dataclasses import dataclass, field

from .metrics import Metrics

log = logging.getLogger("unnatural.server")

START_TIMEOUT_S = 120.0   # spawn + imports + EGL context + test render
RESTART_BACKOFF_S = 2.0   # wait before retrying a process that failed to start
CANCEL_GRACE_S = 5.0      # a withdrawn job that runs longer costs its process a restart (~1-3 s)


class RenderError(RuntimeError):
    """A render job failed; the message says which job and why."""


class RenderTimeout(RenderError):
    """A render job ran past the watchdog limit; its process was killed and restarted."""


class WorkerDied(RenderError):
    """The render process exited during the job; it is being restarted (retry shortly)."""


class PoolClosed(RuntimeError):
    """The pool is shutting down."""


@dataclass
class _Job:
    kind: str
    payload: dict
    future: asyncio.Future


@dataclass
class _Slot:
    index: int
    device: int | None
    state: str = "starting"          # starting | ready | busy | restarting | failed | stopped
    process: mp.process.BaseProcess | None = None
    conn: object = None
    messages: asyncio.Queue | None = None
    info: dict = field(default_factory=dict)
    error: str | None = None
    jobs: int = 0
    carry: _Job | None = None        # a job taken from the queue just as the process died


def _read_messages(conn, loop: asyncio.AbstractEventLoop, messages: asyncio.Queue) -> None:
    """Reader thread: block on the pipe, hand each message to the loop; ``("died", None)`` at EOF."""
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            message = ("died", None)
        try:
            loop.call_soon_threadsafe(messages.put_nowait, message)
        except RuntimeError:  # the loop is closed: the server is gone
            return
        if message[0] == "died":
            return


class RenderPool:
    """``workers`` render processes behind one bounded queue.

    Args:
        workers: number of render processes (one EGL context each).
        metrics: where job counts, timings, restarts and busy/ready gauges go.
        render_timeout: seconds a job may run before the watchdog kills its process.
        queue_size: jobs that may wait for a process; :meth:`submit` waits beyond it.
        devices: EGL device per process (cycled); ``None``: the default device (Mesa).
    """

    def __init__(self, workers: int, metrics: Metrics, render_timeout: float = 120.0, queue_size: int = 256,
                 devices: list[int] | None = None):
        self.metrics = metrics
        self.render_timeout = render_timeout
        self._software = not devices
        self._slots = [_Slot(i, devices[i % len(devices)] if devices else None) for i in range(workers)]
        self._queue_size = queue_size
        self._queue: asyncio.Queue[_Job] | None = None
        self._tasks: list[asyncio.Task] = []
        self._closing = False
        self._ctx = mp.get_context("spawn")

    # -- public -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start every process in the background; :attr:`ready` turns true as they pass."""
        self._queue = asyncio.Queue(self._queue_size)
        self.metrics.queue_depth.set_function(lambda: self._queue.qsize() if self._queue else 0)
        self._tasks = [asyncio.create_task(self._run_slot(slot), name=f"render-slot-{slot.index}")
                       for slot in self._slots]

    @property
    def ready(self) -> bool:
        """At least one process is up and passed its test render."""
        return any(slot.state in ("ready", "busy") for slot in self._slots)

    def status(self) -> list[dict]:
        """Per process: index, pid, state, jobs done, renderer info, last start error."""
        return [{"index": s.index, "pid": s.process.pid if s.process else None, "state": s.state, "jobs": s.jobs,
                 "renderer": s.info.get("GL_RENDERER"), "error": s.error} for s in self._slots]

    async def submit(self, kind: str, payload: dict) -> asyncio.Future:
        """Queue a job (waits while the queue is full) and return the future of its result.

        Cancel the future to withdraw the job. The future raises :class:`RenderError` (or
        :class:`RenderTimeout`) when the job fails.
        """
        if self._closing or self._queue is None:
            raise PoolClosed("the render pool is not running")
        future = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(kind, payload, future))
        return future

    async def run(self, kind: str, payload: dict) -> dict:
        """Submit a job and wait for its result (withdrawn if the caller is cancelled)."""
        future = await self.submit(kind, payload)
        try:
            return await future
        finally:
            future.cancel()

    async def close(self) -> None:
        """Stop taking jobs, fail queued ones, stop every process."""
        self._closing = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        while self._queue is not None and not self._queue.empty():
            job = self._queue.get_nowait()
            if not job.future.done():
                job.future.set_exception(PoolClosed("the server is shutting down"))
        await asyncio.gather(*(self._stop(slot) for slot in self._slots))

    # -- per process ----------------------------------------------------------------------------
    async def _start(self, slot: _Slot) -> None:
        from .worker import worker_main

        slot.state, slot.info = "starting", {}
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        slot.process = self._ctx.Process(target=worker_main, name=f"unnatural-render-{slot.index}", daemon=True,
                                         args=(child_conn, slot.device, self._software, os.getpid()))
        slot.process.start()
        child_conn.close()  # the child's end lives in the child only: its exit gives us EOF
        slot.conn, slot.messages = parent_conn, asyncio.Queue()
        threading.Thread(target=_read_messages, args=(parent_conn, asyncio.get_running_loop(), slot.messages),
                         name=f"render-reader-{slot.index}", daemon=True).start()
        kind, value = await asyncio.wait_for(slot.messages.get(), START_TIMEOUT_S)
        if kind != "ready":
            raise RenderError(f"render process {slot.index} failed to start: {value or 'exited'}")
        slot.info, slot.error, slot.state = value, None, "ready"
        log.info("render process %d (pid %d) ready: %s, test render %.0f ms", slot.index, slot.process.pid,
                 value.get("GL_RENDERER"), value.get("self_test_ms", 0))

    async def _stop(self, slot: _Slot) -> None:
        process, slot.process = slot.process, None
        if slot.conn is not None:
            slot.conn.close()
            slot.conn = None
        if process is not None and process.is_alive():
            process.kill()
            await asyncio.to_thread(process.join, 10)

    async def _run_slot(self, slot: _Slot) -> None:
        """Keep one process alive and feed it jobs, one at a time."""
        first = True
        try:
            while not self._closing:
                if not first:
                    self.metrics.worker_restarts.inc()
                first = False
                try:
                    await self._start(slot)
                except (RenderError, TimeoutError) as exc:
                    slot.state, slot.error = "failed", str(exc) if str(exc) else "start timed out"
                    log.error("%s", slot.error)
                    self.metrics.errors.labels("worker_start").inc()
                    await self._stop(slot)
                    await asyncio.sleep(RESTART_BACKOFF_S)
                    continue
                self._update_ready()
                await self._serve(slot)
                self._update_ready()
                await self._stop(slot)
        finally:
            slot.state = "stopped"
            self._update_ready()

    async def _next_job(self, slot: _Slot) -> _Job | None:
        """The next job for ``slot``, or ``None`` when its process died while it waited (the
        only message an idle process sends is its death)."""
        if slot.carry is not None:
            job, slot.carry = slot.carry, None
            return job
        getter = asyncio.ensure_future(self._queue.get())
        death = asyncio.ensure_future(slot.messages.get())
        try:
            await asyncio.wait({getter, death}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            died, taken = death.done(), getter.done()   # before cancel(): it takes effect later
            getter.cancel()
            death.cancel()
        if died:
            if taken:
                slot.carry = getter.result()
            slot.state = "restarting"
            self.metrics.errors.labels("worker_died").inc()
            log.error("render process %d exited while idle: restarting", slot.index)
            return None
        return getter.result()

    async def _reply(self, slot: _Slot, job: _Job) -> tuple[str, object]:
        """The process's answer to ``job``: ``("ok" | "error" | "died", value)``, or
        ``("timeout" | "withdrawn", None)`` when the process must be killed for it."""
        reply = asyncio.ensure_future(slot.messages.get())
        try:
            await asyncio.wait({reply, job.future}, timeout=self.render_timeout, return_when=asyncio.FIRST_COMPLETED)
            if not reply.done() and job.future.done():       # withdrawn while it ran
                await asyncio.wait({reply}, timeout=CANCEL_GRACE_S)
                if not reply.done():
                    return "withdrawn", None
            return reply.result() if reply.done() else ("timeout", None)
        finally:
            reply.cancel()

    async def _serve(self, slot: _Slot) -> None:
        """Run jobs on ``slot`` until its process must be replaced."""
        while True:
            job = await self._next_job(slot)
            if job is None:
                return
            if job.future.done():  # withdrawn while it waited
                continue
            slot.state = "busy"
            self.metrics.workers_busy.inc()
            t0 = time.perf_counter()
            try:
                slot.conn.send((job.kind, job.payload))
                kind, value = await self._reply(slot, job)
            except OSError:
                kind, value = "died", None
            finally:
                self.metrics.workers_busy.dec()
            seconds = time.perf_counter() - t0
            slot.jobs += 1
            if kind in _ENDINGS:
                slot.state = "restarting"
                label, what = _ENDINGS[kind]
                self.metrics.errors.labels(label).inc()
                # A withdrawn job is a client that left, not a fault: a warning, not an error.
                (log.warning if kind == "withdrawn" else log.error)(
                    "render process %d (pid %s) %s a %s job: restarting", slot.index,
                    slot.process.pid if slot.process else "?", what, job.kind)
                if kind == "timeout":
                    _fail(job, RenderTimeout(f"a {job.kind} job ran longer than the watchdog limit "
                                             f"({self.render_timeout:g} s); its render process was restarted"))
                else:
                    _fail(job, WorkerDied(f"the render process exited during a {job.kind} job; retry shortly"))
                return
            slot.state = "ready"
            self.metrics.render_seconds.labels(job.kind).observe(seconds)
            if kind == "ok":
                self.metrics.images.inc(value.get("images", 0))
                self.metrics.rejected.inc(value.get("rejected", 0))
                if not job.future.done():
                    job.future.set_result(value)
            else:
                self.metrics.errors.labels("render_job").inc()
                _fail(job, RenderError(value))

    def _update_ready(self) -> None:
        self.metrics.workers_ready.set(sum(s.state in ("ready", "busy") for s in self._slots))


# How a job can end its process: error-metrics label, and what the log says the process did.
_ENDINGS = {"timeout": ("render_timeout", "ran past the watchdog limit on"),
            "withdrawn": ("withdrawn_job", "kept running a withdrawn"),
            "died": ("worker_died", "exited during")}


def _fail(job: _Job, exc: Exception) -> None:
    if not job.future.done():
        job.future.set_exception(exc)
