"""What one app shares between requests: settings, render pool, dataset registry, metrics,
stream slots and the preview cache. It lives on ``app.state.server``; routes reach it through
the :func:`get_state` dependency."""
from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Annotated

from fastapi import Depends, Request

from .datasets import Dataset, DatasetRegistry, load_config
from .metrics import Metrics
from .pool import PoolClosed, RenderError, RenderPool
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
        streams: shard/stream responses in progress (at most ``settings.max_streams``).
        previews: contact sheets (PNG bytes) by ``(family, size, seed, columns)``, oldest first.

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
        self.previews: OrderedDict[tuple, bytes] = OrderedDict()

    async def prepare(self, dataset: Dataset) -> None:
        """Build the dataset's program table in a render process (user folders need GL). A
        failure is recorded on the dataset (which then serves 503), never raised."""
        try:
            info = await self.pool.run("prepare", {"spec": dataset.spec.to_dict()})
        except (RenderError, PoolClosed) as exc:
            dataset.error = str(exc)
            log.error("dataset %r cannot be served: %s", dataset.spec.name, exc)
            return
        dataset.classes, dataset.programs_digest, dataset.prepared = info["classes"], info["programs_digest"], True

    @property
    def ready(self) -> bool:
        """A render process passed its test render and every config dataset is prepared."""
        return self.pool.ready and all(d.prepared for d in self.registry if d.source == "config")


async def get_state(request: Request) -> ServerState:
    """The dependency that hands a route its app's :class:`ServerState` (``async`` so that
    FastAPI calls it on the event loop, not in a worker thread)."""
    return request.app.state.server


State = Annotated[ServerState, Depends(get_state)]   # a route parameter: ``state: State``
