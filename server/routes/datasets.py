"""Datasets and streams: ``GET|POST /datasets``, ``GET /datasets/{name}``, the virtual shards
``GET /datasets/{name}/{name}-{k:06d}.tar``, one dataset's samples as one tar
``GET /datasets/{name}/stream``, and the ``GET /stream`` of samples ``start`` up to the last
10-digit key (``MAX_IMAGES - 1``)."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from unnatural.generator.args import parse_families, parse_size
from unnatural.generator.spec import COMPOSED, MAX_IMAGES, DatasetSpec, SpecError, default_mix

from ..datasets import Conflict, Dataset
from ..disconnect import unless_disconnected
from ..errors import render_failure
from ..pool import PoolClosed, RenderError, WorkerDied
from ..schemas import TAR, DatasetInfo, DatasetList, SpecBody, responses
from ..state import State
from ..streaming import TarResponse, tar_response
from .params import ascii_int, field_error, parse_query

router = APIRouter(tags=["datasets"])

STREAM_SIZE = 32   # pixels per side of a stream that names no size


async def registered(name: str, state: State) -> Dataset:
    """The dependency that resolves path parameter ``name`` to its dataset.

    Raises:
        HTTPException: 404 naming the registered datasets.
    """
    dataset = state.registry.get(name)
    if dataset is None:
        raise HTTPException(404, detail=f"unknown dataset {name!r}: registered: "
                                        f"{', '.join(state.registry.names()) or 'none'}")
    return dataset


Registered = Annotated[Dataset, Depends(registered)]


def stream_mix(families: str) -> dict[str, float]:
    """``all`` (the default mix) or a comma list of families and ``composed``, each weight 1.

    Raises:
        HTTPException: 422 for an unknown family or a list that selects nothing.
    """
    if families == "all":
        return default_mix()
    names = parse_query(parse_families, "families", families, (COMPOSED,))
    if not names:
        raise field_error("query", "families", f"families {families!r} selects nothing: allowed 'all' or a comma "
                                               "list of families and 'composed'", families)
    return {n: 1.0 for n in names}


@router.get("/datasets", response_model=DatasetList)
async def list_datasets(request: Request, state: State) -> dict:
    """Every registered dataset with its brace URL."""
    return {"datasets": [d.describe(state.base_url(request)) for d in state.registry]}


@router.post("/datasets", status_code=201, response_model=DatasetInfo,
             responses={200: {"model": DatasetInfo, "description": "the same spec was registered already"},
                        **responses(409, 413, 422, 503)})
async def register_dataset(request: Request, state: State, body: SpecBody) -> JSONResponse:
    """Register a spec (idempotent: 200 and the same answer for an identical spec).

    The spec is prepared (its programs built in a render process) before the answer: a spec
    that cannot render gets 422 and is not registered.
    """
    try:
        spec = body.to_spec()
        state.settings.check_spec(spec, from_config=False)
    except SpecError as exc:
        raise field_error("body", exc.field or "spec", str(exc), getattr(body, exc.field or "", None)) from None
    state.require_ready()
    try:
        dataset, created = state.registry.add(spec, "api")
    except Conflict as exc:
        raise HTTPException(409, detail=str(exc)) from None
    if created:
        try:
            await unless_disconnected(request, state.prepare(dataset))
        except BaseException as exc:
            state.registry.remove(spec.name)
            if isinstance(exc, (WorkerDied, PoolClosed)):
                raise render_failure(exc) from None
            if isinstance(exc, RenderError):
                raise field_error("body", "spec", f"the spec cannot be rendered on this server ({exc}): allowed "
                                                  "specs whose programs build within the render timeout") from None
            raise
    return JSONResponse(dataset.describe(state.base_url(request)), status_code=201 if created else 200)


@router.get("/datasets/{name}", response_model=DatasetInfo, responses=responses(404))
async def get_dataset(dataset: Registered, request: Request, state: State) -> dict:
    """One dataset: spec, brace URL, sample and shard counts, classes."""
    return dataset.describe(state.base_url(request))


@router.get("/datasets/{name}/stream", response_class=Response, responses=responses(404, 422, 429, 500, 503, ok=TAR))
async def stream_dataset(dataset: Registered, request: Request, state: State,
                         start: Annotated[ascii_int(0, MAX_IMAGES - 1), Query(description="first sample index")] = 0
                         ) -> TarResponse:
    """One tar of the dataset's samples ``start`` .. its last (an empty tar past the end): the
    members are byte for byte those of its shards, for any spec a dataset holds (a
    teacher-fitted one too), without shard bookkeeping. A client resumes with
    ``start=<last key + 1>``."""
    spec = dataset.spec
    if dataset.error:
        raise HTTPException(503, detail=f"dataset {spec.name!r} cannot be served: {dataset.error}")
    start = min(start, spec.images)
    return await tar_response(request, state, spec, start, spec.images, "stream", f"{spec.name}-from-{start}.tar")


@router.get("/datasets/{name}/{filename}", response_class=Response,
            responses=responses(404, 429, 500, 503, ok=TAR))
async def get_shard(dataset: Registered, filename: str, request: Request, state: State) -> TarResponse:
    """Shard ``k`` of the dataset as a WebDataset tar, rendered while it streams."""
    spec = dataset.spec
    k = dataset.shard_index(filename)
    last = spec.shard_name(spec.num_shards - 1)
    if k is None or k >= spec.num_shards:
        raise HTTPException(404, detail=f"no shard {filename!r} in dataset {spec.name!r}: allowed "
                                        f"{spec.shard_name(0)} .. {last} ({spec.num_shards} shards)")
    if dataset.error:
        raise HTTPException(503, detail=f"dataset {spec.name!r} cannot be served: {dataset.error}")
    r = spec.shard_range(k)
    return await tar_response(request, state, spec, r.start, r.stop, "shard", filename)


@router.get("/stream", response_class=Response, responses=responses(422, 429, 500, 503, ok=TAR))
async def stream(request: Request, state: State,
                 seed: Annotated[ascii_int(0, 2**63 - 1), Query(description="spec seed")] = 0,
                 size: Annotated[str | None, Query(description=f"S or WxH pixels, each side 8..max_size (default "
                                                               f"{STREAM_SIZE} or max_size if lower)")] = None,
                 format: Annotated[Literal["png", "jpg", "webp", "npy"], Query(description="image encoding")] = "png",
                 families: Annotated[str, Query(description="'all' or a comma list of families and "
                                                            "'composed'")] = "all",
                 start: Annotated[ascii_int(0, MAX_IMAGES - 1), Query(description="first sample index")] = 0,
                 quality: Annotated[ascii_int(1, 100), Query(description="jpg/webp quality")] = 90
                 ) -> TarResponse:
    """A tar of samples ``start, start+1, ...`` until the client disconnects, or until the
    last key the 10-digit key format holds (``9999999999``), where the tar ends cleanly.

    Sample keys are the indices, so a client resumes with ``start=<last key + 1>``.
    """
    max_size = state.settings.max_size
    width, height = parse_query(parse_size, "size", size, max_size) if size is not None else \
        (min(STREAM_SIZE, max_size),) * 2
    spec = DatasetSpec(name="stream", seed=seed, width=width, height=height, format=format, quality=quality,
                       mix=stream_mix(families), images=MAX_IMAGES)
    return await tar_response(request, state, spec, start, MAX_IMAGES, "stream", f"stream-{seed}-{start}.tar")
