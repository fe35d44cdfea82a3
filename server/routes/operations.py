"""Operations: ``GET /healthz`` and ``GET /readyz`` (:data:`probes`, never behind the token:
probes carry none) and ``GET /metrics`` (:data:`router`)."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from ..state import State

probes = APIRouter(tags=["operations"])
router = APIRouter(tags=["operations"])


@probes.get("/healthz")
async def healthz() -> dict:
    """The process is up and its event loop answers."""
    return {"status": "ok"}


@probes.get("/readyz")
async def readyz(state: State) -> JSONResponse:
    """200 once a render process passed its test render and config datasets are prepared; 503 before."""
    body = {"ready": state.ready, "workers": state.pool.status(),
            "datasets": {d.spec.name: d.status for d in state.registry}}
    return JSONResponse(body, status_code=200 if state.ready else 503,
                        headers={} if state.ready else {"Retry-After": "2"})


@router.get("/metrics")
async def metrics(state: State) -> Response:
    """Prometheus text format (prometheus-client)."""
    return Response(state.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")
