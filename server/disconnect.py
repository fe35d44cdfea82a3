"""Work that a request owns ends when its client goes away, before the first byte too:
Starlette notices a disconnect only once a response streams, so an endpoint that waits for a
render (the first chunk of a tar, a preview, preparing a spec) waits through
:func:`unless_disconnected`."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from fastapi import Request

T = TypeVar("T")


class ClientGone(Exception):
    """The client disconnected while its request waited; the work was cancelled."""


async def _disconnect(request: Request) -> None:
    # The request body was read already (or there is none): the next message that matters is
    # the disconnect.
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def unless_disconnected(request: Request, work: Awaitable[T]) -> T:
    """``await work``, or cancel it as soon as the client disconnects.

    Raises:
        ClientGone: the client went away first (``work`` was cancelled, which withdraws its
            render jobs; see :meth:`unnatural.server.pool.RenderPool.run`).
    """
    task = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(_disconnect(request))
    try:
        await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watch.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if task.cancelled():
        raise ClientGone
    return task.result()
