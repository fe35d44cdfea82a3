"""Error answers FastAPI and Starlette would give in another shape: 422 bodies whose echoed
input is cut short and always JSON (``NaN`` in a body must not turn a 422 into a 500, nor a
200 MB field into a 200 MB answer), and 405 with an ``Allow`` header that lists every method
of the path (Starlette names only the first route that matched)."""
from __future__ import annotations

import json
import math
from typing import Any, get_args

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from .disconnect import ClientGone
from .pool import PoolClosed, RenderError, RenderTimeout, WorkerDied

ECHO_CHARS = 200   # characters of a bad value said back in a 422


def echo(value: Any) -> Any:
    """``value`` as it can be said back in a JSON error: small finite numbers, booleans and
    ``None`` as they are; anything else as text of at most :data:`ECHO_CHARS` characters
    (``NaN``, ``Infinity``, long strings, mappings and lists)."""
    if value is None or isinstance(value, (bool, int)) or (isinstance(value, float) and math.isfinite(value)):
        return value
    text = value if isinstance(value, str) else json.dumps(value, default=str)   # NaN -> 'NaN'
    return text if len(text) <= ECHO_CHARS else f"{text[:ECHO_CHARS]}... ({len(text)} characters)"


async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 ``{"detail": [{"loc", "msg", "type", "input"}]}`` with :func:`echo`'d inputs and
    messages that name the field, its value and (for a number) its allowed range."""
    detail = []
    for e in exc.errors():
        loc, value = list(e["loc"]), echo(e.get("input"))
        bounds = _bounds(request, loc)
        msg = f"{loc[-1]} {value!r}: {e['msg']}" if len(loc) > 1 else e["msg"]
        detail.append({"loc": loc, "msg": f"{msg}; allowed {bounds}" if bounds else msg, "type": e["type"],
                       "input": value})
    return JSONResponse({"detail": detail}, status_code=422)


def _bounds(request: Request, loc: list) -> str | None:
    """``low..high`` of the query parameter or body field at ``loc`` when it has both."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or len(loc) != 2:
        return None
    if loc[0] == "query":
        infos = [p.field_info for p in dependant.query_params if p.alias == loc[1]]
    elif loc[0] == "body" and dependant.body_params:
        fields = getattr(dependant.body_params[0].field_info.annotation, "model_fields", {})
        infos = [fields[loc[1]]] if loc[1] in fields else []
    else:
        return None
    metadata = [m for info in infos for m in info.metadata]
    for info in infos:   # an optional parameter: the bounds sit on the Annotated inside the union
        metadata += [m for arg in get_args(info.annotation) for field in getattr(arg, "__metadata__", ())
                     for m in getattr(field, "metadata", ())]
    limits = {type(m).__name__: m for m in metadata}
    return f"{limits['Ge'].ge}..{limits['Le'].le}" if "Ge" in limits and "Le" in limits else None


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Starlette's JSON error, except that a 405 on a documented path lists in ``Allow`` every
    method the schema documents for it."""
    headers = dict(exc.headers or {})
    methods = _documented_methods(request) if exc.status_code == 405 else []
    if methods:
        headers["Allow"] = ", ".join(methods)
        return JSONResponse({"detail": f"method {request.method} is not allowed here: allowed {', '.join(methods)}"},
                            status_code=405, headers=headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


def _documented_methods(request: Request) -> list[str]:
    path = request.scope["path"]
    for template, operations in request.app.openapi()["paths"].items():
        if compile_path(template)[0].match(path):
            return sorted(m.upper() for m in operations)
    return []


def render_failure(exc: RenderError | PoolClosed) -> HTTPException:
    """The answer to a render job that failed before any byte went out: 503 with
    ``Retry-After`` when its process died or the server is stopping (a retry will do), else
    500 ``{"error": "render_timeout" | "render_failed", "message"}``."""
    if isinstance(exc, (WorkerDied, PoolClosed)):
        return HTTPException(503, detail=str(exc), headers={"Retry-After": "5"})
    kind = "render_timeout" if isinstance(exc, RenderTimeout) else "render_failed"
    return HTTPException(500, detail={"error": kind, "message": str(exc)})


async def client_gone(request: Request, exc: ClientGone) -> Response:
    """Nobody is there to read it: 499 (nginx's "client closed request"), for the access log."""
    return Response(status_code=499)


def install(app: FastAPI) -> None:
    """Put these handlers on ``app``."""
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(ClientGone, client_gone)
