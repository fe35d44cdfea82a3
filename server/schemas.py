"""The HTTP contract as pydantic models: the spec body of ``POST /datasets``, the JSON answers,
the error bodies, and :func:`responses`, which routes use to list every status they answer in
``/openapi.json`` (the schema Schemathesis checks the live server against)."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from unnatural.generator.spec import (COMPOSED, FORMATS, MAX_COMPOSED_PROGRAMS, MAX_IMAGES, MAX_IMAGES_PER_SHARD,
                                      MAX_SIZE, MIN_SIZE, USER, DatasetSpec, default_mix)
from unnatural.shaders import family_names

TAR = "application/x-tar"
PNG = "image/png"
HTML = "text/html"
METRICS = "text/plain; version=0.0.4; charset=utf-8"

Source = Literal[tuple([*family_names(), COMPOSED, USER])]           # a mix key
Family = Literal[tuple([*family_names(), COMPOSED])]                 # a preview family
Weight = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Seconds = Annotated[float, Field(ge=0, le=10_000, allow_inf_nan=False)]
_DEFAULT = DatasetSpec.__dataclass_fields__


class SpecBody(BaseModel):
    """A dataset spec (the fields of :class:`~unnatural.generator.spec.DatasetSpec`). Strict:
    no string for a number, no ``NaN``/``Infinity``, no unknown field. The server's limits
    (``max_size``, ``max_images``, ``max_images_per_shard``, ``max_composed_programs``) can be
    lower than these ranges; a spec over them gets 422 naming the field."""

    # The example is in /docs and is the first body Schemathesis sends: small enough for any server.
    model_config = ConfigDict(extra="forbid", strict=True, title="DatasetSpec", json_schema_extra={"examples": [
        {"name": "example", "seed": 1, "width": 16, "height": 16, "images": 40, "images_per_shard": 10,
         "format": "png", "mix": {"plasma": 1.0, "rings": 1.0, "composed": 1.0}, "composed_programs": 2}]})

    # The pattern in Rust's regex syntax (pydantic's): '$' is the end of the text, no newline before it.
    name: str = Field(_DEFAULT["name"].default, pattern=r"^[A-Za-z0-9_-]{1,64}$",
                      description="shard name prefix: 1-64 letters, digits, '_' and '-'")
    seed: int = Field(_DEFAULT["seed"].default, ge=0, le=2**63 - 1)
    width: int = Field(_DEFAULT["width"].default, ge=MIN_SIZE, le=MAX_SIZE, description="pixels")
    height: int = Field(_DEFAULT["height"].default, ge=MIN_SIZE, le=MAX_SIZE, description="pixels")
    images: int = Field(_DEFAULT["images"].default, ge=1, le=MAX_IMAGES)
    images_per_shard: int = Field(_DEFAULT["images_per_shard"].default, ge=1, le=MAX_IMAGES_PER_SHARD)
    format: Literal[FORMATS] = Field(_DEFAULT["format"].default)
    quality: int = Field(_DEFAULT["quality"].default, ge=1, le=100, description="jpg/webp quality")
    mix: dict[Source, Weight] = Field(default_factory=default_mix, min_length=1,
                                      description="relative weight per family, 'composed' or 'user'; positive sum")
    composed_programs: int = Field(_DEFAULT["composed_programs"].default, ge=0, le=MAX_COMPOSED_PROGRAMS)
    user_dir: None = Field(None, description="user shader folders come from the server's --config file only")
    time_min: Seconds = Field(_DEFAULT["time_min"].default, description="seconds, <= time_max")
    time_max: Seconds = Field(_DEFAULT["time_max"].default, description="seconds")
    fitted: dict[str, Any] | None = Field(None, description="a teacher-fitted section (`unnatural fit`)")

    def to_spec(self) -> DatasetSpec:
        """The spec (raises :class:`~unnatural.generator.spec.SpecError` for cross-field rules)."""
        return DatasetSpec.from_dict(self.model_dump(exclude_none=True))


class DatasetInfo(BaseModel):
    """``GET /datasets/{name}``: a registered spec and how to read it."""

    name: str
    url_template: str = Field(description="brace URL of every shard, for webdataset")
    samples: int
    num_shards: int
    images_per_shard: int
    spec_hash: str
    spec: dict[str, Any]
    source: Literal["config", "api"]
    classes: list[str] | None
    programs_digest: str | None
    status: Literal["ready", "preparing", "error"]
    error: str | None


class DatasetList(BaseModel):
    datasets: list[DatasetInfo]


class Catalogue(BaseModel):
    """``GET /shaders``."""

    families: list[dict[str, Any]]
    composed: dict[str, Any]
    classes: list[str]
    formats: list[str]


class Health(BaseModel):
    status: Literal["ok"]


class WorkerStatus(BaseModel):
    index: int
    pid: int | None
    state: Literal["starting", "ready", "busy", "restarting", "failed", "stopped"]
    jobs: int
    renderer: str | None
    error: str | None


class Readiness(BaseModel):
    """``GET /readyz`` (200 when ready, 503 before)."""

    ready: bool
    workers: list[WorkerStatus]
    datasets: dict[str, Literal["ready", "preparing", "error"]]


class Message(BaseModel):
    """Most errors: one sentence saying what is allowed."""

    detail: str


class InvalidField(BaseModel):
    loc: list[str | int] = Field(description="where: ['query' | 'body', field, ...]")
    msg: str = Field(description="what is wrong and what is allowed")
    type: str
    input: Any = Field(None, description="what was sent, cut to a few hundred characters")


class Invalid(BaseModel):
    """422: one entry per bad field."""

    detail: list[InvalidField]


class RenderFailureDetail(BaseModel):
    error: Literal["render_timeout", "render_failed"]
    message: str


class RenderFailure(BaseModel):
    """500: the first chunk of a body failed."""

    detail: RenderFailureDetail


_RETRY = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
_ERRORS: dict[int, tuple[type[BaseModel], str, dict]] = {
    401: (Message, "missing or wrong bearer token (or session cookie)", {}),
    404: (Message, "no such dataset or shard (the message lists what exists)", {}),
    409: (Message, "the name is registered with another spec", {}),
    413: (Message, "the request body is larger than this server's max_body_bytes", {}),
    422: (Invalid, "a bad parameter or field, named with its allowed range", {}),
    429: (Message, "every stream slot is taken (max_streams)", _RETRY),
    500: (RenderFailure, "the first chunk failed to render (the watchdog killed it, or the shader failed)", {}),
    503: (Message, "no render process is ready, or the dataset cannot be served", _RETRY),
}


def responses(*codes: int, ok: str | None = None) -> dict[int, dict]:
    """The ``responses=`` of a route: the JSON error bodies of ``codes`` (keys of the table
    above) and, when ``ok`` is given, the media type of a non-JSON 200 body (the route's
    ``response_class`` gives FastAPI only one type; this replaces it with the true one)."""
    out: dict[int, dict] = {}
    for code in codes:
        model, description, headers = _ERRORS[code]
        out[code] = {"model": model, "description": description, **({"headers": headers} if headers else {})}
    if ok is not None:
        schema = {"type": "string"} if ok in (HTML, METRICS) else {"type": "string", "format": "binary"}
        out[200] = {"content": {ok: {"schema": schema}}}
    return out
