"""The shader catalogue: ``GET /shaders`` (JSON) and ``GET /preview.png`` (contact sheets,
cached). The HTML gallery that shows them is :mod:`.browser`'s."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from unnatural.generator.composer import MAX_SEED, block_counts
from unnatural.generator.spec import COMPOSED, FORMATS, MIN_SIZE, DatasetSpec
from unnatural.shaders import family_info, family_names

from ..disconnect import unless_disconnected
from ..errors import render_failure
from ..pool import PoolClosed, RenderError
from ..schemas import PNG, Catalogue, Family, responses
from ..state import State
from .params import ascii_int, field_error

# A sheet of every program is ~30 rows: at 128 px and 8 columns it is ~4 Mpx, a few seconds of
# one process and ~2 MB of PNG (at 256 px and 16 columns it was 20 s and 45 MB).
PREVIEW_MAX_SIZE = 128
PREVIEW_MAX_COLUMNS = 8
PREVIEW_SIZE = 64

router = APIRouter(tags=["catalogue"])


def catalogue() -> dict:
    """The body of ``GET /shaders``: families in class order, the composer, classes, formats."""
    families = [{"cls": i, **vars(family_info(n))} for i, n in enumerate(family_names())]
    composed = {"cls": len(families), "name": COMPOSED, "default_programs": DatasetSpec().composed_programs,
                "max_seed": MAX_SEED, "blocks": block_counts(),
                "summary": "programs composed from GLSL building blocks, one per seed (class 'composed')"}
    return {"families": families, "composed": composed, "classes": [*family_names(), COMPOSED],
            "formats": list(FORMATS)}


@router.get("/shaders", response_model=Catalogue)
async def shaders() -> dict:
    """The shader families (class index, summary, parameters) and the composer."""
    return catalogue()


@router.get("/preview.png", response_class=Response, responses=responses(422, 429, 500, 503, ok=PNG))
async def preview(request: Request, state: State,
                  family: Annotated[Family | None, Query(description="a family, 'composed', or omitted for "
                                                                     "all")] = None,
                  size: Annotated[ascii_int(MIN_SIZE, PREVIEW_MAX_SIZE) | None,
                                  Query(description=f"tile side in pixels, {MIN_SIZE}..{PREVIEW_MAX_SIZE} and at "
                                                    f"most the server's max_size (default {PREVIEW_SIZE} or "
                                                    "max_size if lower)")] = None,
                  seed: Annotated[ascii_int(0, MAX_SEED // 4 - 1), Query(description="draw seed")] = 0,
                  columns: Annotated[ascii_int(1, PREVIEW_MAX_COLUMNS), Query(description="draws per row")] = 8
                  ) -> Response:
    """A contact sheet (PNG): one row per program, ``columns`` parameter draws per row.

    Rendering one takes a slot of ``max_streams`` (429 when none is free) and stops when the
    client leaves; sheets are cached (bounded in bytes).
    """
    size = min(PREVIEW_SIZE, state.settings.max_size) if size is None else size
    if size > state.settings.max_size:
        raise field_error("query", "size", f"size {size} is above this server's limit: allowed "
                                           f"{MIN_SIZE}..{state.settings.max_size} pixels", size)
    key = (family, size, seed, columns)
    png = state.previews.get(key)
    if png is None:
        state.require_ready()
        state.take_slot("preview")
        try:
            job = state.pool.run("preview", {"family": family, "size": size, "seed": seed, "columns": columns})
            png = (await unless_disconnected(request, job))["png"]
        except (RenderError, PoolClosed) as exc:
            raise render_failure(exc) from None
        finally:
            state.free_slot("preview")
        state.previews.put(key, png)
    return Response(png, media_type=PNG, headers={"Cache-Control": "public, max-age=86400"})
