"""The shader catalogue: ``GET /shaders`` (JSON), ``GET /preview.png`` (contact sheets, cached)
and ``GET /`` (the HTML gallery)."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from unnatural.generator.composer import MAX_SEED, block_counts
from unnatural.generator.spec import COMPOSED, FORMATS, MIN_SIZE, DatasetSpec
from unnatural.shaders import family_info, family_names

from ..gallery import gallery_html
from ..pool import PoolClosed, RenderError
from ..state import State
from .params import field_error

PREVIEW_CACHE = 128      # contact sheets kept in memory (they are deterministic)

router = APIRouter(tags=["catalogue"])


def catalogue() -> dict:
    """The body of ``GET /shaders``: families in class order, the composer, classes, formats."""
    families = [{"cls": i, **vars(family_info(n))} for i, n in enumerate(family_names())]
    composed = {"cls": len(families), "name": COMPOSED, "default_programs": DatasetSpec().composed_programs,
                "max_seed": MAX_SEED, "blocks": block_counts(),
                "summary": "programs composed from GLSL building blocks, one per seed (class 'composed')"}
    return {"families": families, "composed": composed, "classes": [*family_names(), COMPOSED],
            "formats": list(FORMATS)}


@router.get("/shaders")
async def shaders() -> dict:
    """The shader families (class index, summary, parameters) and the composer."""
    return catalogue()


@router.get("/preview.png", response_class=Response)
async def preview(state: State,
                  family: str | None = Query(None, description="a family, 'composed', or omitted for all"),
                  size: int = Query(64, ge=MIN_SIZE, le=256, description="tile side in pixels"),
                  seed: int = Query(0, ge=0, le=MAX_SEED // 4 - 1, description="draw seed"),
                  columns: int = Query(8, ge=1, le=16, description="draws per row")) -> Response:
    """A contact sheet (PNG): one row per program, ``columns`` parameter draws per row."""
    if family is not None and family not in (*family_names(), COMPOSED):
        raise field_error("query", "family", f"family {family!r} is unknown: allowed {COMPOSED!r} or one of "
                                             f"{', '.join(family_names())}", family)
    key = (family, size, seed, columns)
    png = state.previews.get(key)
    if png is None:
        if not state.pool.ready:
            raise HTTPException(503, detail="no render process is ready yet", headers={"Retry-After": "5"})
        try:
            png = (await state.pool.run("preview", {"family": family, "size": size, "seed": seed,
                                                    "columns": columns}))["png"]
        except (RenderError, PoolClosed) as exc:
            raise HTTPException(500, detail={"error": "render_failed", "message": str(exc)}) from None
        state.previews[key] = png
        while len(state.previews) > PREVIEW_CACHE:
            state.previews.popitem(last=False)
    return Response(png, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})


@router.get("/", response_class=HTMLResponse)
async def index(request: Request, state: State) -> HTMLResponse:
    """The gallery page: families with previews, datasets with brace URLs."""
    cat = catalogue()
    base = str(request.base_url)
    return HTMLResponse(gallery_html(cat["families"], cat["composed"],
                                     [d.describe(base) for d in state.registry], state.settings.token is not None))
