"""The HTTP server: virtual shards, endless streams, catalogue, previews, health and metrics.

Start it with ``unnatural serve`` or ``uvicorn --factory unnatural.server.app:create_app`` (settings from
``UNNATURAL_*`` variables, see :class:`ServerSettings`). Endpoints (README "Serve over HTTP"),
one router per concern in :mod:`unnatural.server.routes`:

* ``GET /datasets/{name}/{name}-{k:06d}.tar``: shard ``k`` of a registered spec, rendered on
  demand and streamed while it renders; its bytes equal the shard ``unnatural render`` writes.
* ``GET /stream?seed=&size=&format=&families=&start=``: one endless tar, from sample ``start``.
* ``GET|POST /datasets``, ``GET /datasets/{name}``: the registered specs and their brace URLs.
* ``GET /shaders``, ``GET /preview.png``: catalogue, contact sheets.
* ``GET /``, ``POST /session``: the HTML gallery, and its sign-in form when there is a token.
* ``GET /healthz``, ``GET /readyz``, ``GET /metrics``: operations.
* ``GET /openapi.json``, ``GET /docs``: the schema (every status, body and media type; see
  :mod:`unnatural.server.schemas`) and its interactive page.

Errors: 401 without the bearer token or session cookie (when a token is set; checked before a
body is read), 404 for an unknown dataset or shard, 409 for a name registered with another
spec, 413 for a body above ``max_body_bytes``, 422 with ``{"detail": [{"loc", "msg", ...}]}``
naming the field and the allowed range, 429 past ``max_streams`` (shards, streams and previews
together) and 503 while no render process is ready (both with ``Retry-After``), 500 when the
first chunk of a body fails. A
render failure after the first bytes went out (the watchdog killed a hung render) aborts the
connection, so the client sees a truncated transfer and can retry: shards are deterministic.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from . import errors
from .auth import BodyGuard, HostGuard, require_token
from .routes import browser, catalogue, datasets, operations
from .schemas import responses
from .settings import ServerSettings
from .state import ServerState


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the render pool and prepare the config datasets in the background (``/readyz``
    says when they are done); on shutdown, stop preparing and close the pool."""
    state: ServerState = app.state.server
    await state.pool.start()
    warmup = [asyncio.create_task(state.prepare_config(d)) for d in state.registry]
    try:
        yield
    finally:
        for task in warmup:
            task.cancel()
        await state.pool.close()


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """The FastAPI app (an app factory: ``uvicorn --factory unnatural.server.app:create_app``).

    Args:
        settings: server settings; ``None`` reads ``UNNATURAL_*`` environment variables.

    Raises:
        SettingsError: a bad setting, token file or config file (named in the message).
    """
    app = FastAPI(title="unnatural", summary="Procedural GLSL images as WebDataset shards and streams",
                  version="0.1.0", lifespan=lifespan)
    app.state.server = state = ServerState(settings if settings is not None else ServerSettings.from_env())
    errors.install(app)
    app.include_router(operations.probes)                    # probes carry no token
    app.include_router(browser.router)                       # checks the token itself: a form, not a 401 body
    protected = [Depends(require_token)]
    for router in (operations.router, catalogue.router, datasets.router):
        app.include_router(router, dependencies=protected, responses=responses(401))
    app.add_middleware(BodyGuard, state=state)
    hosts = [h.strip() for h in state.settings.allowed_hosts.split(",") if h.strip()]
    app.add_middleware(HostGuard, allowed_hosts=hosts)   # outermost: a bad Host gets 400 first
    return app


def serve(settings: ServerSettings, host: str, port: int, log_level: str = "info") -> None:
    """Run the app under uvicorn with access logs until interrupted.

    Raises:
        SettingsError: a bad config file (named in the message).
    """
    import uvicorn

    logging.basicConfig(level=log_level.upper(), format="%(levelname)s:     %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level, access_log=True,
                timeout_graceful_shutdown=5)
