"""The HTTP server: virtual shards, endless streams, catalogue, previews, health and metrics.

Start it with ``unnatural serve`` or ``uvicorn --factory unnatural.server.app:create_app`` (settings from
``UNNATURAL_*`` variables, see :class:`ServerSettings`). Endpoints (README "Serve over HTTP"):

* ``GET /datasets/{name}/{name}-{k:06d}.tar``: shard ``k`` of a registered spec, rendered on
  demand and streamed while it renders; its bytes equal the shard ``unnatural render`` writes.
* ``GET /stream?seed=&size=&format=&families=&start=``: one endless tar, from sample ``start``.
* ``GET|POST /datasets``, ``GET /datasets/{name}``: the registered specs and their brace URLs.
* ``GET /shaders``, ``GET /preview.png``, ``GET /``: catalogue, contact sheets, HTML gallery.
* ``GET /healthz``, ``GET /readyz``, ``GET /metrics``: operations.

Errors: 401 without the bearer token (when one is set), 404 for an unknown dataset or shard,
409 for a name registered with another spec, 422 with ``{"detail": [{"loc", "msg", ...}]}``
naming the field and the allowed range, 429 past ``max_streams`` and 503 while no render
process is ready (both with ``Retry-After``), 500 when the first chunk of a body fails. A
render failure after the first bytes went out (the watchdog killed a hung render) aborts the
connection, so the client sees a truncated transfer and can retry: shards are deterministic.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from unnatural.generator.composer import MAX_SEED, block_counts
from unnatural.generator.args import parse_families, parse_size
from unnatural.generator.spec import COMPOSED, FORMATS, MAX_IMAGES, MIN_SIZE, DatasetSpec, SpecError, default_mix
from unnatural.shaders import family_info, family_names

from .datasets import Conflict, Dataset, DatasetRegistry, load_config
from .gallery import gallery_html
from .metrics import Metrics
from .pool import PoolClosed, RenderError, RenderPool, RenderTimeout
from .settings import ServerSettings
from .streaming import chunk_ranges, tar_body

log = logging.getLogger("unnatural.server")

PREVIEW_CACHE = 128      # contact sheets kept in memory (they are deterministic)
TAR = "application/x-tar"


def _field_error(where: str, name: str, message: str, value: Any = None) -> HTTPException:
    """422 in FastAPI's own validation-error shape, so clients parse one format."""
    return HTTPException(422, detail=[{"loc": [where, name], "msg": message, "type": "value_error", "input": value}])


def _query(parse, name: str, text: str, *args):
    """Run a shared parser (:mod:`unnatural.generator.args`) on a query parameter; 422 on error."""
    try:
        return parse(text, *args)
    except ValueError as exc:
        raise _field_error("query", name, str(exc), text) from None


def _stream_mix(families: str) -> dict[str, float]:
    """``all`` (the default mix) or a comma list of families and ``composed``, each weight 1."""
    if families == "all":
        return default_mix()
    names = _query(parse_families, "families", families, (COMPOSED,))
    if not names:
        raise _field_error("query", "families", f"families {families!r} selects nothing: allowed 'all' or a comma "
                                                "list of families and 'composed'", families)
    return {n: 1.0 for n in names}


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


class _Server:
    """Per-app state: settings, pool, registry, metrics, stream slots, preview cache."""

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
        """Build the dataset's program table in a render process (user folders need GL)."""
        try:
            info = await self.pool.run("prepare", {"spec": dataset.spec.to_dict()})
        except (RenderError, PoolClosed) as exc:
            dataset.error = str(exc)
            log.error("dataset %r cannot be served: %s", dataset.spec.name, exc)
            return
        dataset.classes, dataset.programs_digest, dataset.prepared = info["classes"], info["programs_digest"], True

    @property
    def ready(self) -> bool:
        return self.pool.ready and all(d.prepared for d in self.registry if d.source == "config")

    async def tar_response(self, spec: DatasetSpec, start: int, stop: int | None, endpoint: str,
                           filename: str) -> TarResponse:
        """Stream samples ``start..stop-1`` of ``spec`` as a tar (a shard when ``stop`` is set)."""
        if not self.pool.ready:
            raise HTTPException(503, detail="no render process is ready yet: retry shortly",
                                headers={"Retry-After": "5"})
        if self.streams >= self.settings.max_streams:
            self.metrics.errors.labels("too_many_streams").inc()
            raise HTTPException(429, detail=f"{self.streams} streams in progress: this server allows "
                                            f"{self.settings.max_streams} at once; retry shortly",
                                headers={"Retry-After": "1"})
        self.streams += 1
        self.metrics.active_streams.labels(endpoint).inc()
        body = tar_body(self.pool, spec, chunk_ranges(spec, start, stop), end=stop is not None,
                        prefetch=self.prefetch, metrics=self.metrics, endpoint=endpoint)

        async def close() -> None:
            self.streams -= 1
            self.metrics.active_streams.labels(endpoint).dec()
            await body.aclose()  # withdraws the body's outstanding render jobs now

        # The first chunk is awaited here, so a body that cannot start gets a real status code.
        try:
            first = await anext(body)
        except BaseException as exc:
            await close()
            if isinstance(exc, (RenderError, PoolClosed)):
                kind = "render_timeout" if isinstance(exc, RenderTimeout) else "render_failed"
                raise HTTPException(500, detail={"error": kind, "message": str(exc)}) from None
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


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """The FastAPI app (an app factory: ``uvicorn --factory unnatural.server.app:create_app``).

    Args:
        settings: server settings; ``None`` reads ``UNNATURAL_*`` environment variables.

    Raises:
        SettingsError: a bad setting, token file or config file (named in the message).
    """
    settings = settings or ServerSettings.from_env()
    server = _Server(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await server.pool.start()
        warmup = [asyncio.create_task(server.prepare(d)) for d in server.registry]
        try:
            yield
        finally:
            for task in warmup:
                task.cancel()
            await server.pool.close()

    app = FastAPI(title="unnatural", summary="Procedural GLSL images as WebDataset shards and streams",
                  version="0.1.0", lifespan=lifespan)
    app.state.server = server

    def require_token(request: Request) -> None:
        if settings.token is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), settings.token.encode()):
            server.metrics.errors.labels("unauthorized").inc()
            raise HTTPException(401, detail="missing or invalid bearer token: send 'Authorization: Bearer <token>'",
                                headers={"WWW-Authenticate": "Bearer"})

    # -- health: never behind the token (probes carry none) -------------------------------
    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict:
        """The process is up and its event loop answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> JSONResponse:
        """200 once a render process passed its test render and config datasets are prepared; 503 before."""
        body = {"ready": server.ready, "workers": server.pool.status(),
                "datasets": {d.spec.name: d.status for d in server.registry}}
        return JSONResponse(body, status_code=200 if server.ready else 503,
                            headers={} if server.ready else {"Retry-After": "2"})

    api = APIRouter(dependencies=[Depends(require_token)])

    @api.get("/metrics", tags=["operations"])
    async def metrics() -> Response:
        """Prometheus text format (prometheus-client)."""
        return Response(server.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

    # -- catalogue ------------------------------------------------------------------------
    def catalogue() -> dict:
        families = [{"cls": i, **vars(family_info(n))} for i, n in enumerate(family_names())]
        composed = {"cls": len(families), "name": COMPOSED, "default_programs": DatasetSpec().composed_programs,
                    "max_seed": MAX_SEED, "blocks": block_counts(),
                    "summary": "programs composed from GLSL building blocks, one per seed (class 'composed')"}
        return {"families": families, "composed": composed, "classes": [*family_names(), COMPOSED],
                "formats": list(FORMATS)}

    @api.get("/shaders", tags=["catalogue"])
    async def shaders() -> dict:
        """The shader families (class index, summary, parameters) and the composer."""
        return catalogue()

    @api.get("/preview.png", tags=["catalogue"], response_class=Response)
    async def preview(family: str | None = Query(None, description="a family, 'composed', or omitted for all"),
                      size: int = Query(64, ge=MIN_SIZE, le=256, description="tile side in pixels"),
                      seed: int = Query(0, ge=0, le=MAX_SEED // 4 - 1, description="draw seed"),
                      columns: int = Query(8, ge=1, le=16, description="draws per row")) -> Response:
        """A contact sheet (PNG): one row per program, ``columns`` parameter draws per row."""
        if family is not None and family not in (*family_names(), COMPOSED):
            raise _field_error("query", "family", f"family {family!r} is unknown: allowed {COMPOSED!r} or one of "
                                                  f"{', '.join(family_names())}", family)
        key = (family, size, seed, columns)
        png = server.previews.get(key)
        if png is None:
            if not server.pool.ready:
                raise HTTPException(503, detail="no render process is ready yet", headers={"Retry-After": "5"})
            try:
                png = (await server.pool.run("preview", {"family": family, "size": size, "seed": seed,
                                                         "columns": columns}))["png"]
            except (RenderError, PoolClosed) as exc:
                raise HTTPException(500, detail={"error": "render_failed", "message": str(exc)}) from None
            server.previews[key] = png
            while len(server.previews) > PREVIEW_CACHE:
                server.previews.popitem(last=False)
        return Response(png, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})

    @api.get("/", response_class=HTMLResponse, tags=["catalogue"])
    async def index(request: Request) -> HTMLResponse:
        """The gallery page: families with previews, datasets with brace URLs."""
        cat = catalogue()
        base = str(request.base_url)
        return HTMLResponse(gallery_html(cat["families"], cat["composed"],
                                         [d.describe(base) for d in server.registry], settings.token is not None))

    # -- datasets -------------------------------------------------------------------------
    def dataset_or_404(name: str) -> Dataset:
        dataset = server.registry.get(name)
        if dataset is None:
            raise HTTPException(404, detail=f"unknown dataset {name!r}: registered: "
                                            f"{', '.join(server.registry.names()) or 'none'}")
        return dataset

    @api.get("/datasets", tags=["datasets"])
    async def list_datasets(request: Request) -> dict:
        """Every registered dataset with its brace URL."""
        return {"datasets": [d.describe(str(request.base_url)) for d in server.registry]}

    @api.post("/datasets", tags=["datasets"], status_code=201)
    async def register_dataset(request: Request, spec: dict = Body(..., description="a dataset spec")) -> JSONResponse:
        """Register a spec (idempotent: 200 and the same answer for an identical spec)."""
        try:
            parsed = DatasetSpec.from_dict(spec)
            settings.check_spec(parsed, from_config=False)
        except SpecError as exc:
            raise _field_error("body", exc.field or "spec", str(exc), spec.get(exc.field) if exc.field else None) from None
        except TypeError as exc:  # a mapping that is not a spec at all
            raise _field_error("body", "spec", str(exc)) from None
        try:
            dataset, created = server.registry.add(parsed, "api")
        except Conflict as exc:
            raise HTTPException(409, detail=str(exc)) from None
        if created:
            await server.prepare(dataset)
        return JSONResponse(dataset.describe(str(request.base_url)), status_code=201 if created else 200)

    @api.get("/datasets/{name}", tags=["datasets"])
    async def get_dataset(name: str, request: Request) -> dict:
        """One dataset: spec, brace URL, sample and shard counts, classes."""
        return dataset_or_404(name).describe(str(request.base_url))

    @api.get("/datasets/{name}/{filename}", tags=["datasets"], response_class=TarResponse)
    async def get_shard(name: str, filename: str) -> TarResponse:
        """Shard ``k`` of the dataset as a WebDataset tar, rendered while it streams."""
        dataset = dataset_or_404(name)
        spec = dataset.spec
        k = dataset.shard_index(filename)
        last = spec.shard_name(spec.num_shards - 1)
        if k is None or k >= spec.num_shards:
            raise HTTPException(404, detail=f"no shard {filename!r} in dataset {name!r}: allowed "
                                            f"{spec.shard_name(0)} .. {last} ({spec.num_shards} shards)")
        if dataset.error:
            raise HTTPException(503, detail=f"dataset {name!r} cannot be served: {dataset.error}")
        r = spec.shard_range(k)
        return await server.tar_response(spec, r.start, r.stop, "shard", filename)

    @api.get("/stream", tags=["datasets"], response_class=TarResponse)
    async def stream(seed: int = Query(0, ge=0, le=2**63 - 1, description="spec seed"),
                     size: str = Query("32", description="S or WxH pixels"),
                     format: Literal["png", "jpg", "webp", "npy"] = Query("png", description="image encoding"),
                     families: str = Query("all", description="'all' or a comma list of families and 'composed'"),
                     start: int = Query(0, ge=0, le=MAX_IMAGES - 1, description="first sample index"),
                     quality: int = Query(90, ge=1, le=100, description="jpg/webp quality")) -> TarResponse:
        """An endless tar of samples ``start, start+1, ...`` until the client disconnects.

        Sample keys are the indices, so a client resumes with ``start=<last key + 1>``.
        """
        width, height = _query(parse_size, "size", size, settings.max_size)
        spec = DatasetSpec(name="stream", seed=seed, width=width, height=height, format=format, quality=quality,
                           mix=_stream_mix(families), images=MAX_IMAGES)
        return await server.tar_response(spec, start, None, "stream", f"stream-{seed}-{start}.tar")

    app.include_router(api)
    return app


def serve(settings: ServerSettings, host: str, port: int, log_level: str = "info") -> None:
    """Run the app under uvicorn with access logs until interrupted."""
    import uvicorn

    logging.basicConfig(level=log_level.upper(), format="%(levelname)s:     %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level, access_log=True,
                timeout_graceful_shutdown=5)
