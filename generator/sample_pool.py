"""Render samples into memory with a pool of render processes: for callers that score images
rather than store them (``unnatural fit``), so nothing is encoded, packed or decoded.

The pool is the render job's (:func:`unnatural.generator.job.run_pool`) without shards: spawned
processes, each with its one EGL context (docs/DESIGN.md "One GL context per process"), render
contiguous index ranges of any spec with :func:`~unnatural.generator.shard.render_samples` and
send back the arrays. The pool outlives one spec, so a caller that renders a series of specs
over the same programs (the fit's rounds) starts the processes once, and each process compiles
a program once (the renderer's cache is keyed by program id and source digest). Samples are the
same pure function of (spec, index) as in shards, quality filter included.
"""
from __future__ import annotations

import multiprocessing as mp
import queue
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, wait
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from .job import TASK_BYTES, JobError
from .render_process import default_workers, spawn_render_pool, start_pooled_render_process
from .shard import ShardSamples, join_samples, render_samples
from .spec import DatasetSpec

TABLES_PER_PROCESS = 8   # program tables a render process keeps (one per spec in use)
TASKS_PER_WORKER = 2     # index ranges per render process and call: some balance, few draws each

_state: dict = {}


def _init(progress: mp.Queue, devices: mp.Queue, software_threads: bool, parent: int) -> None:
    _state.update(progress=progress, tables=OrderedDict(),
                  renderer=start_pooled_render_process(devices, software_threads, parent))


def _table(spec_dict: dict):
    from .sampling import ProgramTable

    tables: OrderedDict = _state["tables"]
    spec = DatasetSpec.from_dict(spec_dict)
    key = spec.canonical_json()
    if key not in tables:
        tables[key] = ProgramTable(spec)
        while len(tables) > TABLES_PER_PROCESS:
            tables.popitem(last=False)
    tables.move_to_end(key)
    return tables[key]


def _render_range(spec_dict: dict, start: int, stop: int) -> tuple[ShardSamples, list[str]]:
    table = _table(spec_dict)
    samples = render_samples(table, _state["renderer"], np.arange(start, stop), on_images=_state["progress"].put)
    return samples, table.program_ids


def split_range(start: int, stop: int, parts: int, max_part: int) -> list[tuple[int, int]]:
    """``[start, stop)`` as at least ``parts`` contiguous near-equal ranges of at most
    ``max_part`` indices each (fewer ranges when there are fewer indices)."""
    n = stop - start
    count = max(1, min(n, max(parts, -(-n // max(1, max_part)))))
    bounds = [start + (n * j) // count for j in range(count + 1)]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


class SamplePool:
    """``workers`` spawned render processes (``None``: :func:`default_workers`) that render the
    samples of any spec into memory. Use it as a context manager, or call :meth:`close`.

    Raises:
        JobError: (from :meth:`render`) a render process died.
    """

    def __init__(self, workers: int | None = None):
        self.workers = max(1, workers or default_workers())
        self._pool, self._progress = spawn_render_pool(self.workers, _init)

    def render(self, spec: DatasetSpec, start: int = 0, stop: int | None = None,
               on_images: Callable[[int], None] | None = None) -> tuple[ShardSamples, list[str]]:
        """Render samples ``start .. stop-1`` of ``spec`` (``stop`` ``None``: ``spec.images``).

        Returns:
            ``(samples, program_ids)``: :class:`~unnatural.generator.shard.ShardSamples` in index
            order (``images`` ``(N, H, W, 3) uint8``, ``program`` indexing ``program_ids``,
            ``target`` the fitted class or -1), and the program ids of the spec's table.

        ``on_images(n)`` is called in this process as images are rendered (about every 0.2 s).

        Raises:
            ValueError: ``start``/``stop`` outside ``0 <= start < stop``.
            JobError: a render process died. Errors of the render itself (e.g. a user shader
                that does not compile anywhere) are raised as they are.
        """
        stop = spec.images if stop is None else stop
        if not 0 <= start < stop:
            raise ValueError(f"sample range {start}..{stop} is empty or negative: allowed 0 <= start < stop")
        max_part = max(1, TASK_BYTES // (spec.width * spec.height * 3))
        ranges = split_range(start, stop, self.workers * TASKS_PER_WORKER, max_part)
        spec_dict = spec.to_dict()
        futures = {self._pool.submit(_render_range, spec_dict, a, b): j for j, (a, b) in enumerate(ranges)}
        results: dict[int, tuple[ShardSamples, list[str]]] = {}
        pending = set(futures)
        try:
            while pending:
                finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                self._drain(on_images)
                for fut in finished:
                    results[futures[fut]] = fut.result()
        except BrokenProcessPool as exc:
            raise JobError(f"a render process died ({exc})") from exc
        finally:
            for fut in pending:
                fut.cancel()
        self._drain(on_images)
        parts = [results[j] for j in range(len(ranges))]
        return join_samples([samples for samples, _ in parts]), parts[0][1]

    def _drain(self, on_images: Callable[[int], None] | None) -> None:
        images = 0
        while True:
            try:
                images += self._progress.get_nowait()
            except queue.Empty:
                break
        if images and on_images is not None:
            on_images(images)

    def close(self) -> None:
        """Stop the render processes (waits for running tasks)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "SamplePool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
