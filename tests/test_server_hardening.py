"""The server under hostile or unlucky clients, end to end on a real ``unnatural serve``: bad
numbers and names, work bounded per request and withdrawn when the client leaves, bodies
refused before they are read, dead render processes, forged Host headers, the last stream keys."""
from __future__ import annotations

import json
import os
import signal
import socket
import tarfile

import httpx
import pytest

from conftest import run_cli
from server_helpers import BodyFile, head
from test_server import HANG, Server, _wait
from unnatural.generator.spec import MAX_IMAGES
from unnatural.server.previews import PreviewCache

TOKEN = "hardening-token"
PUBLIC = "https://data.example:8443/base"
BODY_LIMIT = 4096
SMALL = {"name": "small", "seed": 2, "width": 8, "height": 8, "images": 4, "images_per_shard": 2, "format": "npy",
         "mix": {"plasma": 1.0}}


@pytest.fixture(scope="module")
def hard(tmp_path_factory):
    """One render process, a long watchdog (only a withdrawal can free it from the runaway shader
    in time), two stream slots, a public URL, allowed hosts and a small body limit."""
    folder = tmp_path_factory.mktemp("hard")
    (folder / "user").mkdir()
    (folder / "user" / "runaway.glsl").write_text(HANG)
    (folder / "token").write_text(TOKEN)
    (folder / "datasets.json").write_text(json.dumps({"datasets": [SMALL, {
        "name": "runaway", "seed": 1, "width": 128, "height": 128, "images": 4, "images_per_shard": 4,
        "format": "npy", "mix": {"user": 1.0}, "user_dir": str(folder / "user")}]}))
    srv = Server(["--workers", "1", "--config", str(folder / "datasets.json"), "--token-file", str(folder / "token"),
                  "--max-size", "128", "--max-streams", "2", "--render-timeout", "900", "--max-composed-programs", "4",
                  "--max-images", "1000", "--max-body-bytes", str(BODY_LIMIT), "--public-url", PUBLIC,
                  "--allowed-hosts", "127.0.0.1,localhost"], folder / "server.log", token=TOKEN)
    yield srv
    srv.stop()


def _raw(srv: Server, head: str, timeout: float = 60) -> socket.socket:
    """A socket to the server that has sent ``head`` (request line and headers, no body)."""
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)
    sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n")
    return sock


def _status(sock: socket.socket) -> int:
    """The status code of the response on ``sock`` (waits for it)."""
    return int(sock.recv(65536).split(b" ", 2)[1])


def _invalid(response: httpx.Response) -> dict:
    assert response.status_code == 422, response.status_code
    return response.json()["detail"][0]


# -- 2. bad numbers --------------------------------------------------------------------------
def test_non_finite_numbers_give_422_naming_the_field(hard, tmp_path):
    for body, loc in (('{"name": "n", "time_max": NaN}', ["body", "time_max"]),
                      ('{"name": "n", "time_min": -Infinity}', ["body", "time_min"]),
                      ('{"name": "n", "mix": {"plasma": Infinity}}', ["body", "mix", "plasma"])):
        response = hard.client.post("/datasets", content=body, headers={"Content-Type": "application/json"})
        detail = _invalid(response)
        assert detail["loc"] == loc and "finite" in detail["msg"] and isinstance(detail["input"], str), body
    overflow = _invalid(hard.client.post("/datasets", json={"name": "n", "mix": {"plasma": 1e308, "rings": 1e308}}))
    assert overflow["loc"] == ["body", "mix"] and "infinity" in overflow["msg"]
    for text in ('{"name": "n", "time_max": NaN}', '{"name": "n", "mix": {"plasma": 1e308, "rings": 1e308}}'):
        (tmp_path / "spec.json").write_text(text)
        result = run_cli("render", "--spec", str(tmp_path / "spec.json"), "--out", str(tmp_path / "out"),
                         "--no-progress", timeout=120)
        assert result.returncode == 2 and ("time_max nan" in result.stderr or "mix" in result.stderr), result.stderr


# -- 3. names and digits ---------------------------------------------------------------------
def test_names_and_integers_must_match_whole(hard):
    for name in ("abc\n", "a\tb", "ab\x00", "a\u202eb", "٣٢", "x" * 65, ""):
        assert _invalid(hard.client.post("/datasets", json={**SMALL, "name": name}))["loc"] == ["body", "name"], name
    for params, field in (({"size": "٣٢"}, "size"), ({"size": "1_6"}, "size"), ({"seed": "٣"}, "seed"),
                          ({"start": "1_0"}, "start"), ({"quality": "９０"}, "quality")):
        assert _invalid(head(hard.client, "/stream", params))["loc"] == ["query", field], params
    assert _invalid(head(hard.client, "/preview.png", {"columns": "٣"}))["loc"] == ["query", "columns"]


# -- 4. bounded work -------------------------------------------------------------------------
def test_http_specs_are_capped_and_unregistered_when_refused(hard):
    for field, value, allowed in (("composed_programs", 1_000_000, "0..4"), ("images", 5000, "1..1000")):
        spec = {"name": "big", "width": 8, "height": 8, "images": 10, "images_per_shard": 10, field: value}
        detail = _invalid(hard.client.post("/datasets", json=spec))
        assert detail["loc"] == ["body", field] and allowed in detail["msg"]
    assert hard.client.get("/datasets/big").status_code == 404
    ok = hard.client.post("/datasets", json={"name": "capped", "composed_programs": 2, "width": 8, "height": 8,
                                             "images": 10, "images_per_shard": 10, "mix": {"composed": 1.0}})
    assert ok.status_code == 201 and ok.json()["status"] == "ready"


def test_disconnect_before_the_first_byte_withdraws_the_work(hard):
    before = hard.metrics()
    sock = _raw(hard, f"GET /datasets/runaway/runaway-000000.tar HTTP/1.1\nHost: 127.0.0.1\n"
                      f"Authorization: Bearer {TOKEN}\n")
    _wait(lambda: hard.metrics()["unnatural_render_workers_busy"] == 1, timeout=60)
    sock.close()          # no byte of the response was sent: the shader runs for many minutes
    _wait(lambda: (m := hard.metrics())["unnatural_render_workers_busy"] == 0
          and m["unnatural_active_streams{'endpoint': 'shard'}"] == 0
          and hard.client.get("/readyz").status_code == 200, timeout=120)
    after = hard.metrics()
    assert after["unnatural_errors_total{'kind': 'withdrawn_job'}"] == \
        before.get("unnatural_errors_total{'kind': 'withdrawn_job'}", 0) + 1
    assert hard.client.get("/datasets/small/small-000001.tar").status_code == 200


def test_previews_are_capped_and_share_the_stream_slots(hard):
    for params, field, allowed in (({"size": "256"}, "size", "8..128"), ({"columns": "16"}, "columns", "1..8")):
        detail = _invalid(hard.client.get("/preview.png", params=params))
        assert detail["loc"] == ["query", field] and allowed in detail["msg"]
    params = {"size": "16", "families": "plasma", "format": "npy"}
    with hard.client.stream("GET", "/stream", params=params) as one, \
            hard.client.stream("GET", "/stream", params=params) as two:
        assert one.status_code == two.status_code == 200
        busy = hard.client.get("/preview.png", params={"family": "rings", "size": 16, "seed": 7})
        assert busy.status_code == 429 and busy.headers["retry-after"] == "1"
    _wait(lambda: hard.client.get("/preview.png", params={"family": "rings", "size": 16, "seed": 7}).status_code
          == 200, timeout=60)


def test_preview_cache_is_bounded_in_bytes():
    cache = PreviewCache(max_bytes=100)
    for seed in range(10):
        cache.put(seed, bytes(30))
    assert cache.size <= 100 and cache.get(9) == bytes(30) and cache.get(0) is None
    cache.put("huge", bytes(101))
    assert cache.get("huge") is None and cache.size <= 100


# -- 5. request bodies -----------------------------------------------------------------------
def test_token_is_checked_before_the_body_and_bodies_are_capped(hard):
    # A 200 MB body announced but never sent: only an answer before reading it can come back.
    head = "POST /datasets HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\nContent-Length: 200000000\n"
    assert _status(_raw(hard, head)) == 401
    assert _status(_raw(hard, head + f"Authorization: Bearer {TOKEN}\n")) == 413
    chunks = (b" " * 1024 for _ in range(8))      # chunked: no length to refuse up front
    chunked = hard.client.post("/datasets", content=chunks, headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413 and str(BODY_LIMIT) in chunked.json()["detail"]
    echoed = _invalid(hard.client.post("/datasets", json={**SMALL, "name": "x" * 3000}))
    assert echoed["loc"] == ["body", "name"] and len(echoed["input"]) < 300 and "3000 characters" in echoed["input"]


# -- 6. dead render processes ----------------------------------------------------------------
def test_a_render_process_killed_while_idle_is_replaced(hard):
    pid = hard.worker_pids()[0]
    os.kill(pid, signal.SIGKILL)
    _wait(lambda: pid not in [w["pid"] for w in hard.client.get("/readyz").json()["workers"]
                              if w["state"] in ("ready", "busy")], timeout=60)
    response = hard.client.get("/datasets/small/small-000000.tar")
    assert response.status_code in (200, 503), response.text
    if response.status_code == 503:
        assert int(response.headers["retry-after"]) > 0
    _wait(lambda: hard.client.get("/readyz").status_code == 200, timeout=120)
    assert hard.client.get("/datasets/small/small-000000.tar").status_code == 200
    assert hard.metrics()["unnatural_render_worker_restarts_total"] >= 1


# -- 7. Host header --------------------------------------------------------------------------
def test_urls_come_from_the_public_url_and_hosts_are_checked(hard):
    info = hard.client.get("/datasets/small", headers={"Host": f"localhost:{hard.port}"}).json()
    assert info["url_template"] == f"{PUBLIC}/datasets/small/small-{{000000..000001}}.tar"
    forged = hard.client.get("/datasets/small", headers={"Host": "evil.example"})
    assert forged.status_code == 400 and "evil.example" not in forged.text
    assert forged.headers["content-type"] == "application/json" and "--allowed-hosts" in forged.json()["detail"]
    assert hard.client.get("/healthz", headers={"Host": "evil.example:80"}).status_code == 400   # probes too
    sock = _raw(hard, "GET /healthz HTTP/1.1\nHost: \n")                   # an empty Host
    assert _status(sock) == 400


# -- 9. keys past 10 digits ------------------------------------------------------------------
def test_stream_ends_at_the_last_ten_digit_key(hard):
    params = {"start": str(MAX_IMAGES - 3), "size": "8", "format": "npy", "families": "plasma"}
    with hard.client.stream("GET", "/stream", params=params) as response:
        assert response.status_code == 200
        keys = []
        with tarfile.open(fileobj=BodyFile(response), mode="r|") as tar:
            for member in tar:
                keys.append(member.name.split(".", 1)[0])
                assert len(keys) < 20, "the stream went past the last key"
    assert sorted(set(keys)) == [str(k) for k in range(MAX_IMAGES - 3, MAX_IMAGES)]
    assert _invalid(head(hard.client, "/stream", {**params, "start": str(MAX_IMAGES)}))["loc"] == ["query", "start"]
