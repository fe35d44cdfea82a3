"""The HTTP contract, checked against a live ``unnatural serve``: ``/openapi.json`` is complete
and Schemathesis finds the server true to it on every route but the endless stream, whose query
parameters a Hypothesis test of our own fuzzes."""
from __future__ import annotations

import json
import tarfile
import time

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)

from server_helpers import BodyFile
from unnatural.generator.spec import MAX_IMAGES
from unnatural.server.process import ServerProcess
from unnatural.shaders import family_names

TOKEN = "contract-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_SIZE = 24
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Few examples per route and no shrinking: the run stays well under a minute on 2 cores.
BOUNDED = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck), phases=["explicit", "generate"])


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A server with a token and tight limits, so that fuzzed requests that are valid stay cheap."""
    folder = tmp_path_factory.mktemp("contract")
    (folder / "token").write_text(TOKEN)
    (folder / "datasets.json").write_text(json.dumps({"datasets": [
        {"name": "tiny", "width": 8, "height": 8, "images": 4, "images_per_shard": 2, "format": "npy",
         "mix": {"plasma": 1.0}}]}))
    srv = ServerProcess(["--workers", "1", "--token-file", str(folder / "token"), "--config",
                         str(folder / "datasets.json"), "--max-size", str(MAX_SIZE), "--max-images-per-shard", "10",
                         "--max-composed-programs", "2", "--max-streams", "4"], folder / "server.log", token=TOKEN)
    yield srv
    srv.stop()


def test_openapi_is_complete(live):
    spec = httpx.get(f"{live.url}/openapi.json", timeout=60).json()
    paths = spec["paths"]
    media = {(p, code): list(r.get("content", {})) for p, ops in paths.items() for op in ops.values()
             for code, r in op["responses"].items()}
    assert media[("/metrics", "200")] == ["text/plain; version=0.0.4; charset=utf-8"]
    assert media[("/preview.png", "200")] == ["image/png"]
    assert media[("/stream", "200")] == media[("/datasets/{name}/{filename}", "200")] == ["application/x-tar"]
    post = paths["/datasets"]["post"]
    assert set(post["responses"]) >= {"200", "201", "401", "409", "413", "422", "503"}
    assert set(paths["/stream"]["get"]["responses"]) >= {"200", "401", "422", "429", "503"}
    body = spec["components"]["schemas"][post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                                         .rsplit("/", 1)[1]]
    assert body["additionalProperties"] is False
    assert {"name", "seed", "width", "height", "images", "images_per_shard", "format", "quality", "mix",
            "composed_programs", "time_min", "time_max", "fitted"} <= set(body["properties"])
    assert body["properties"]["width"]["minimum"] == 8 and body["properties"]["width"]["maximum"] == 1024
    assert {s["type"] for s in spec["components"]["securitySchemes"].values()} == {"http", "apiKey"}
    text = json.dumps(spec)    # constraints as JSON Schema keywords, never pydantic's own names
    assert '"ge":' not in text and '"le":' not in text
    allow = httpx.request("OPTIONS", f"{live.url}/datasets", timeout=60)
    assert allow.status_code == 405 and allow.headers["allow"] == "GET, POST"
    assert httpx.delete(f"{live.url}/datasets/tiny", headers=AUTH, timeout=60).headers["allow"] == "GET"


def test_server_keeps_its_contract(live):
    # A loop over the operations, not schemathesis.pytest.from_fixture (which pytest 9 breaks).
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json").exclude(path="/stream")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:
        @given(case=st.one_of(*operation.get_strategies_from_examples(), operation.as_strategy()))
        @BOUNDED
        def keeps_contract(case):
            case.call_and_validate(headers=AUTH, checks=CHECKS, allow_redirects=False, timeout=120)

        keeps_contract()


_SIZES = st.one_of(st.integers(6, 26).map(str), st.integers(-5, 64).map(str), st.sampled_from(["16x8", "8X24", "٣٢", "1_6", " 16", "", "x"]),
                   st.text(max_size=6))
_FAMILIES = st.one_of(st.just("all"), st.lists(st.sampled_from([*family_names()[:3], "composed", "nope"]),
                                                min_size=1, max_size=3).map(",".join), st.text(max_size=8))
_INTS = st.one_of(st.integers(0, 10**9), st.integers(-3, 10), st.integers(MAX_IMAGES - 3, MAX_IMAGES + 3), st.text(max_size=4))
_QUERY = st.fixed_dictionaries({}, optional={
    "seed": st.one_of(st.integers(-2, 2**63 + 2), st.text(max_size=4)), "size": _SIZES,
    "format": st.sampled_from(["npy", "png", "jpg", "webp", "gif", ""]), "families": _FAMILIES,
    "start": _INTS, "quality": st.one_of(st.integers(-1, 101), st.text(max_size=3))})


@given(query=_QUERY)
@settings(BOUNDED, max_examples=40)
def test_stream_query_fuzz(live, query):
    """Every query answers 200 with a tar whose first key is ``start`` (10 digits), or 422 naming
    one of the parameters sent; never a 5xx."""
    with httpx.stream("GET", f"{live.url}/stream", params=query, headers=AUTH, timeout=120) as response:
        if response.status_code == 200:
            assert response.headers["content-type"] == "application/x-tar"
            first = tarfile.open(fileobj=BodyFile(response), mode="r|").next()
            key = first.name.split(".", 1)[0]
            assert key == f"{int(str(query.get('start', 0)).strip()):010d}"
            return
        response.read()
    assert response.status_code == 422, (query, response.text)
    detail = response.json()["detail"]
    assert detail and all(d["loc"][0] == "query" and d["loc"][1] in query and d["msg"] for d in detail)


def _wait_ready(live, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while httpx.get(f"{live.url}/readyz", timeout=60).status_code != 200:
        assert time.monotonic() < deadline, "the server did not get ready again"
        time.sleep(0.2)
