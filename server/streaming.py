"""Tar bodies that stream while they render: virtual shards and endless streams.

A body is a sequence of chunks (consecutive sample ranges), each rendered by one pool job into
tar members (:func:`unnatural.generator.shard.tar_members`); a shard ends with :func:`tar_end`, so its
bytes equal the file ``unnatural render`` writes (samples are pure functions of (spec, index),
and members of consecutive chunks concatenate). A body keeps at most ``prefetch`` chunks in
flight: when the client reads slowly, uvicorn's ``send`` waits, the body is not advanced, and no
new job is submitted (backpressure). Closing the body withdraws its outstanding jobs.
"""
from __future__ import annotations

import itertools
from collections import deque
from collections.abc import AsyncIterator, Iterable

from unnatural.generator.shard import tar_end
from unnatural.generator.spec import DatasetSpec

from .metrics import Metrics
from .pool import RenderPool

CHUNK_PIXELS = 1 << 20   # pixels per render job: ~0.1-0.5 s on one llvmpipe core, so a
                         # disconnect stops work quickly and shards stream from the first second


def chunk_images(spec: DatasetSpec) -> int:
    """Images per render job for ``spec``'s image size (at least 1)."""
    return max(1, CHUNK_PIXELS // (spec.width * spec.height))


def chunk_ranges(spec: DatasetSpec, start: int, stop: int | None) -> Iterable[tuple[int, int]]:
    """``(lo, hi)`` sample ranges covering ``start..stop-1`` (``stop=None``: endless)."""
    step = chunk_images(spec)
    for lo in itertools.count(start, step):
        if stop is not None and lo >= stop:
            return
        yield lo, lo + step if stop is None else min(lo + step, stop)


async def tar_body(pool: RenderPool, spec: DatasetSpec, ranges: Iterable[tuple[int, int]], *, end: bool,
                   prefetch: int, metrics: Metrics, endpoint: str) -> AsyncIterator[bytes]:
    """Yield the tar members of each range in order (and the end-of-archive if ``end``).

    Raises:
        RenderError: a chunk failed (the body stops there; the pool has already recovered).
    """
    spec_dict = spec.to_dict()
    ranges = iter(ranges)
    pending: deque = deque()
    sent = 0
    try:
        while True:
            while len(pending) < prefetch:
                r = next(ranges, None)
                if r is None:
                    break
                pending.append(await pool.submit("chunk", {"spec": spec_dict, "start": r[0], "stop": r[1]}))
            if not pending:
                break
            members = (await pending.popleft())["tar"]
            yield members
            sent += len(members)
            metrics.bytes_sent.labels(endpoint).inc(len(members))
        if end:
            trailer = tar_end(sent)
            yield trailer
            metrics.bytes_sent.labels(endpoint).inc(len(trailer))
    finally:
        for future in pending:
            future.cancel()
