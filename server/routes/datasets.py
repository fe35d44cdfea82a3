"""Datasets and streams: ``GET|POST /datasets``, ``GET /datasets/{name}``, the virtual shards
``GET /datasets/{name}/{name}-{k:06d}.tar`` and the endless ``GET /stream``."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from unnatural.generator.args import parse_families, parse_size
from unnatural.generator.spec import COMPOSED, MAX_IMAGES, DatasetSpec, SpecError, default_mix

from ..datasets import Conflict, Dataset
from ..state import State
from ..streaming import TAR, TarResponse, tar_response
from .params import field_error, parse_query

router = APIRouter(tags=["datasets"])

# The tar routes return a TarResponse themselves; response_class=Response and this entry only
# describe the body in /openapi.json (FastAPI cannot document a custom streaming class).
TAR_RESPONSES = {200: {"description": "a WebDataset tar, streamed while it renders",
                       "content": {TAR: {"schema": {"type": "string", "format": "binary"}}}}}


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


@router.get("/datasets")
async def list_datasets(request: Request, state: State) -> dict:
    """Every registered dataset with its brace URL."""
    return {"datasets": [d.describe(str(request.base_url)) for d in state.registry]}


@router.post("/datasets", status_code=201)
async def register_dataset(request: Request, state: State,
                           spec: dict = Body(..., description="a dataset spec")) -> JSONResponse:
    """Register a spec (idempotent: 200 and the same answer for an identical spec)."""
    try:
        parsed = DatasetSpec.from_dict(spec)
        state.settings.check_spec(parsed, from_config=False)
    except SpecError as exc:
        raise field_error("body", exc.field or "spec", str(exc), spec.get(exc.field) if exc.field else None) from None
    except TypeError as exc:  # a mapping that is not a spec at all
        raise field_error("body", "spec", str(exc)) from None
    try:
        dataset, created = state.registry.add(parsed, "api")
    except Conflict as exc:
        raise HTTPException(409, detail=str(exc)) from None
    if created:
        await state.prepare(dataset)
    return JSONResponse(dataset.describe(str(request.base_url)), status_code=201 if created else 200)


@router.get("/datasets/{name}")
async def get_dataset(dataset: Registered, request: Request) -> dict:
    """One dataset: spec, brace URL, sample and shard counts, classes."""
    return dataset.describe(str(request.base_url))


@router.get("/datasets/{name}/{filename}", response_class=Response, responses=TAR_RESPONSES)
async def get_shard(dataset: Registered, filename: str, state: State) -> TarResponse:
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
    return await tar_response(state, spec, r.start, r.stop, "shard", filename)


@router.get("/stream", response_class=Response, responses=TAR_RESPONSES)
async def stream(state: State,
                 seed: int = Query(0, ge=0, le=2**63 - 1, description="spec seed"),
                 size: str = Query("32", description="S or WxH pixels"),
                 format: Literal["png", "jpg", "webp", "npy"] = Query("png", description="image encoding"),
                 families: str = Query("all", description="'all' or a comma list of families and 'composed'"),
                 start: int = Query(0, ge=0, le=MAX_IMAGES - 1, description="first sample index"),
                 quality: int = Query(90, ge=1, le=100, description="jpg/webp quality")) -> TarResponse:
    """An endless tar of samples ``start, start+1, ...`` until the client disconnects.

    Sample keys are the indices, so a client resumes with ``start=<last key + 1>``.
    """
    width, height = parse_query(parse_size, "size", size, state.settings.max_size)
    spec = DatasetSpec(name="stream", seed=seed, width=width, height=height, format=format, quality=quality,
                       mix=stream_mix(families), images=MAX_IMAGES)
    return await tar_response(state, spec, start, None, "stream", f"stream-{seed}-{start}.tar")
