"""Tar bodies that stream while they render: virtual shards and endless streams.

A body is a sequence of chunks (consecutive sample ranges), each rendered by one pool job into
tar members (:func:`unnatural.generator.tar.tar_members`); a shard ends with :func:`tar_end`, so its
bytes equal the file ``unnatural render`` writes (samples are pure functions of (spec, index),
and members of consecutive chunks concatenate). A body keeps at most ``prefetch`` chunks in
flight: when the client reads slowly, uvicorn's ``send`` waits, the body is not advanced, and no
new job is submitted (backpressure). Closing the body withdraws its outstanding jobs.

:func:`tar_response` wraps a body in an HTTP response that holds one of the server's stream
slots until the response ends.
"""
from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

from fastapi import Request
from fastapi.responses import StreamingResponse

from unnatural.generator.tar import tar_end
from unnatural.generator.spec import DatasetSpec

from .disconnect import unless_disconnected
from .errors import render_failure
from .metrics import Metrics
from .pool import PoolClosed, RenderError, RenderPool
from .schemas import TAR
from .state import ServerState

log = logging.getLogger("unnatural.server")

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


class TarResponse(StreamingResponse):
    """A streamed tar body whose cleanup (withdrawing render jobs, freeing the stream slot) runs
    when the response ends for any reason: finished, failed, or the client went away."""

    media_type = TAR

    def __init__(self, content: AsyncIterator[bytes], on_close: Callable[[], Awaitable[None]], **kwargs):
        super().__init__(content, **kwargs)
        self._on_close = on_close

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._on_close()


async def tar_response(request: Request, state: ServerState, spec: DatasetSpec, start: int, stop: int | None,
                       endpoint: str, filename: str) -> TarResponse:
    """Stream samples ``start..stop-1`` of ``spec`` as a tar (a shard when ``stop`` is set,
    else endless), in one of the server's ``max_streams`` slots.

    Args:
        request: the request (a disconnect before the first chunk withdraws the work).
        endpoint: ``shard`` or ``stream``, the metrics label.
        filename: the attachment name in ``Content-Disposition``.

    Raises:
        HTTPException: 503 (``Retry-After: 5``) while no render process is ready, 429
            (``Retry-After: 1``) with every slot taken, else :func:`render_failure` when the
            first chunk fails.
        ClientGone: the client left before the first chunk was ready.
    """
    state.require_ready()
    state.take_slot(endpoint)
    body = tar_body(state.pool, spec, chunk_ranges(spec, start, stop), end=stop is not None,
                    prefetch=state.prefetch, metrics=state.metrics, endpoint=endpoint)

    async def close() -> None:
        state.free_slot(endpoint)
        await body.aclose()  # withdraws the body's outstanding render jobs now

    # The first chunk is awaited here, so a body that cannot start gets a real status code.
    try:
        first = await unless_disconnected(request, anext(body))
    except BaseException as exc:
        await close()
        if isinstance(exc, (RenderError, PoolClosed)):
            raise render_failure(exc) from None
        raise

    async def content() -> AsyncIterator[bytes]:
        yield first
        try:
            async for chunk in body:
                yield chunk
        except RenderError as exc:
            # Headers are out: abort the connection (a truncated transfer), never a short
            # tar that ends cleanly. The client retries; the shard's bytes will be the same.
            log.error("%s %s aborted after the first bytes: %s", endpoint, filename, exc)
            raise

    headers = {"Content-Disposition": f'attachment; filename="{filename}"',
               "X-Unnatural-Spec-Hash": spec.spec_hash,
               "X-Unnatural-Samples": f"{start}-{stop - 1}" if stop is not None else f"{start}-"}
    return TarResponse(content(), close, headers=headers)
