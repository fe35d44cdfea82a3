"""What one app shares between requests: settings, render pool, dataset registry, metrics,
stream slots and the preview cache. It lives on ``app.state.server``; routes reach it through
the :func:`get_state` dependency."""
from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from .datasets import Dataset, DatasetRegistry, load_config
from .metrics import Metrics
from .pool import PoolClosed, RenderError, RenderPool
from .previews import PreviewCache
from .settings import ServerSettings

log = logging.getLogger("unnatural.server")


class ServerState:
    """Per-app state. Built by :func:`unnatural.server.app.create_app`; the app's lifespan
    starts and closes :attr:`pool`.

    Args:
        settings: the server's settings; the config file's datasets are registered here.

    Attributes:
        settings, metrics, pool, registry: as named.
        prefetch: render jobs each tar response keeps in flight.
        streams: shard, stream and preview responses in progress (at most ``settings.max_streams``).
        previews: contact sheets (PNG bytes) by ``(family, size, seed, columns)``.

    Raises:
        SettingsError: the config file is unreadable or holds a bad spec.
    """

    def __init__(self, settings: ServerSettings):
        from unnatural.generator.context import cuda_egl_devices
        from unnatural.generator.render_process import default_workers

        self.settings = settings
        self.metrics = Metrics()
        workers = settings.workers or default_workers()
        self.prefetch = settings.prefetch or max(2, workers)
        self.pool = RenderPool(workers, self.metrics, settings.render_timeout,
                               queue_size=settings.max_streams * self.prefetch + 16,
                               devices=[egl for egl, _ in cuda_egl_devices()] or None)
        self.registry = DatasetRegistry()
        for spec in load_config(settings.config, settings) if settings.config else []:
            self.registry.add(spec, "config")
        self.streams = 0
        self.previews = PreviewCache()

    async def prepare(self, dataset: Dataset) -> None:
        """Build the dataset's program table in a render process (user folders need GL).

        Raises:
            RenderError, PoolClosed: it failed; the reason is also recorded on the dataset
                (which then serves 503).
        """
        try:
            info = await self.pool.run("prepare", {"spec": dataset.spec.to_dict()})
        except (RenderError, PoolClosed) as exc:
            dataset.error = str(exc)
            log.error("dataset %r cannot be served: %s", dataset.spec.name, exc)
            raise
        dataset.classes, dataset.programs_digest, dataset.prepared = info["classes"], info["programs_digest"], True

    async def prepare_config(self, dataset: Dataset) -> None:
        """:meth:`prepare` for a config dataset at start: a failure stays on the dataset."""
        try:
            await self.prepare(dataset)
        except (RenderError, PoolClosed):
            pass

    def require_ready(self) -> None:
        """Raises HTTPException 503 with ``Retry-After`` while no render process is ready (at
        start, or while a dead one is being replaced)."""
        if not self.pool.ready:
            self.metrics.errors.labels("not_ready").inc()
            raise HTTPException(503, detail="no render process is ready (starting or restarting): retry shortly",
                                headers={"Retry-After": "5"})

    def take_slot(self, endpoint: str) -> None:
        """Count a rendering response (shard, stream or preview) against ``max_streams``;
        :meth:`free_slot` when it ends.

        Raises:
            HTTPException: 429 with ``Retry-After: 1`` when every slot is taken.
        """
        if self.streams >= self.settings.max_streams:
            self.metrics.errors.labels("too_many_streams").inc()
            raise HTTPException(429, detail=f"{self.streams} rendering responses in progress: this server allows "
                                            f"{self.settings.max_streams} at once; retry shortly",
                                headers={"Retry-After": "1"})
        self.streams += 1
        self.metrics.active_streams.labels(endpoint).inc()

    def free_slot(self, endpoint: str) -> None:
        self.streams -= 1
        self.metrics.active_streams.labels(endpoint).dec()

    def base_url(self, request: Request) -> str:
        """The base of the URLs this server hands out: ``public_url`` when set, else the URL
        the request came to."""
        return self.settings.public_url or str(request.base_url)

    @property
    def ready(self) -> bool:
        """A render process passed its test render and every config dataset is prepared."""
        return self.pool.ready and all(d.prepared for d in self.registry if d.source == "config")


async def get_state(request: Request) -> ServerState:
    """The dependency that hands a route its app's :class:`ServerState` (``async`` so that
    FastAPI calls it on the event loop, not in a worker thread)."""
    return request.app.state.server


State = Annotated[ServerState, Depends(get_state)]   # a route parameter: ``state: State``
