"""Operations: ``GET /healthz`` and ``GET /readyz`` (:data:`probes`, never behind the token:
probes carry none) and ``GET /metrics`` (:data:`router`)."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from ..schemas import METRICS, Health, Readiness, responses
from ..state import State

probes = APIRouter(tags=["operations"])
router = APIRouter(tags=["operations"])


@probes.get("/healthz", response_model=Health)
async def healthz() -> dict:
    """The process is up and its event loop answers."""
    return {"status": "ok"}


@probes.get("/readyz", response_model=Readiness,
            responses={503: {"model": Readiness, "description": "not ready: no render process up, or config "
                                                                "datasets still preparing",
                             "headers": responses(503)[503]["headers"]}})
async def readyz(state: State) -> JSONResponse:
    """200 once a render process passed its test render and config datasets are prepared; 503
    before, and while every render process is being replaced."""
    body = {"ready": state.ready, "workers": state.pool.status(),
            "datasets": {d.spec.name: d.status for d in state.registry}}
    return JSONResponse(body, status_code=200 if state.ready else 503,
                        headers={} if state.ready else {"Retry-After": "2"})


@router.get("/metrics", response_class=Response, responses=responses(ok=METRICS))
async def metrics(state: State) -> Response:
    """Prometheus text format (prometheus-client)."""
    return Response(state.metrics.exposition(), media_type=METRICS)
