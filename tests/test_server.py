"""The HTTP server, end to end: a real ``unnatural serve`` (uvicorn, spawned EGL render
processes) on a free 127.0.0.1 port, read by httpx, curl and stock webdataset."""
from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path

import httpx
import pytest
import torch
import webdataset as wds
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from conftest import run_cli
from unnatural.distill.remote import TOKEN_ENV, server_urls
from unnatural.server.process import ServerProcess, free_port
from unnatural.server.settings import ServerSettings, SettingsError

TOKEN = "s3cret-token-for-tests"
# The open server's datasets: small, two families + a few composed programs (fast compiles).
MIX = {"plasma": 1.0, "voronoi_cells": 1.0, "composed": 1.0}
TRAIN = dict(name="train", seed=5, width=16, height=16, images=100, images_per_shard=25, format="npy",
             mix=MIX, composed_programs=3)
# A user shader whose cost explodes above 100 px: it passes the load-time probe (64x64) and
# runs for minutes at 128 px, as a runaway loop would. Only the watchdog can stop it.
# (llvmpipe caps each loop at 65535 iterations, so the body is made heavy instead.)
HANG = """
#define STEP acc = fract(sin(acc * 12.9898 + uv.x) * 43758.5453);
#define STEP8 STEP STEP STEP STEP STEP STEP STEP STEP
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.xy;
    int n = iResolution.x > 100.0 ? 65000 : 1;
    float acc = 0.0;
    for (int i = 0; i < n; i++) { STEP8 STEP8 STEP8 STEP8 STEP8 STEP8 STEP8 STEP8 }
    fragColor = vec4(uv, 0.5 + 0.5 * sin(6.2831 * (iParams[0].x + uv.x * uv.y * 4.0) + iTime + acc), 1.0);
}
"""


class Server(ServerProcess):
    def metrics(self) -> dict[str, float]:
        text = self.client.get("/metrics").text
        return {f"{s.name}{dict(sorted(s.labels.items())) or ''}": s.value
                for family in text_string_to_metric_families(text) for s in family.samples}


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait(condition, timeout: float = 60, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(interval)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("server")
    (folder / "datasets.yaml").write_text(json.dumps({"datasets": [TRAIN]}))
    srv = Server(["--workers", "2", "--config", str(folder / "datasets.yaml")], folder / "server.log")
    yield srv
    pids = srv.worker_pids()
    srv.stop()
    _wait(lambda: not any(_alive(p) for p in pids), timeout=30)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """Token, tight limits, a 5 s watchdog and a dataset whose shader hangs."""
    folder = tmp_path_factory.mktemp("guarded")
    (folder / "user").mkdir()
    (folder / "user" / "runaway.glsl").write_text(HANG)
    (folder / "token").write_text(TOKEN + "\n")
    config = {"datasets": [
        {"name": "small", "seed": 1, "width": 16, "height": 16, "images": 20, "images_per_shard": 10,
         "format": "jpg", "mix": {"plasma": 1.0}},
        {"name": "runaway", "seed": 1, "width": 128, "height": 128, "images": 4, "images_per_shard": 4,
         "format": "npy", "mix": {"user": 1.0}, "user_dir": str(folder / "user")},
    ]}
    (folder / "datasets.json").write_text(json.dumps(config))
    srv = Server(["--workers", "1", "--config", str(folder / "datasets.json"), "--token-file", str(folder / "token"),
                  "--max-streams", "1", "--max-size", "128", "--max-images-per-shard", "100",
                  "--render-timeout", "5"], folder / "server.log", token=TOKEN)
    yield srv
    srv.stop()


# -- virtual shards ------------------------------------------------------------------------
def test_readyz_reports_ready_workers(server):
    body = server.client.get("/readyz").json()     # ready once one process passed its test render
    assert body["ready"] and body["datasets"] == {"train": "ready"} and len(body["workers"]) == 2

    def all_ready() -> bool:
        workers = server.client.get("/readyz").json()["workers"]
        return all(w["state"] in ("ready", "busy") and w["renderer"] for w in workers)

    _wait(all_ready, timeout=120)
    assert server.client.get("/healthz").json() == {"status": "ok"}


def test_dataloader_reads_every_sample_once(server):
    info = server.client.get("/datasets/train").json()
    assert info["url_template"] == f"{server.url}/datasets/train/train-{{000000..000003}}.tar"
    assert info["samples"] == 100 and info["num_shards"] == 4 and info["classes"][-1] == "composed"
    dataset = wds.WebDataset(info["url_template"], shardshuffle=False, workersplitter=wds.split_by_worker,
                             empty_check=False).decode("rgb8").to_tuple("__key__", "npy", "cls")
    loader = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=2)
    keys = []
    for key, image, cls in loader:
        assert image.shape == (16, 16, 3) and 0 <= int(cls) < len(info["classes"])
        keys.append(key)
    assert sorted(keys) == [f"{i:010d}" for i in range(100)]


def test_shard_bytes_equal_the_offline_render_and_refetch(server, tmp_path):
    result = run_cli("render", "--out", str(tmp_path), "--name", "train", "--seed", "5", "--size", "16",
                     "--images", "100", "--images-per-shard", "25", "--format", "npy", "--composed-programs", "3",
                     "--families", "plasma,voronoi_cells", "--composed-weight", "1", "--workers", "1", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "manifest.json").read_text())["spec_hash"] == \
        server.client.get("/datasets/train").json()["spec_hash"]
    for k in (0, 3):
        response = server.client.get(f"/datasets/train/train-{k:06d}.tar")
        assert response.status_code == 200 and response.headers["content-type"] == "application/x-tar"
        assert response.content == (tmp_path / f"train-{k:06d}.tar").read_bytes()
        assert server.client.get(f"/datasets/train/train-{k:06d}.tar").content == response.content


def test_post_dataset_is_idempotent_and_serves(server):
    spec = {"name": "posted", "seed": 9, "width": 24, "height": 8, "images": 30, "images_per_shard": 30,
            "format": "png", "mix": {"rings": 1.0, "truchet": 2.0}}
    first = server.client.post("/datasets", json=spec)
    assert first.status_code == 201, first.text
    again = server.client.post("/datasets", json=spec)
    assert again.status_code == 200 and again.json() == first.json()
    assert first.json()["url_template"].endswith("/datasets/posted/posted-{000000..000000}.tar")
    assert {"train", "posted"} <= {d["name"] for d in server.client.get("/datasets").json()["datasets"]}
    conflict = server.client.post("/datasets", json={**spec, "seed": 10})
    assert conflict.status_code == 409 and "different spec" in conflict.json()["detail"]
    samples = list(wds.WebDataset(first.json()["url_template"], shardshuffle=False).decode("rgb8"))
    assert len(samples) == 30 and samples[0]["png"].shape == (8, 24, 3)
    assert {s["json"]["family"] for s in samples} == {"rings", "truchet"}


# -- endless stream ------------------------------------------------------------------------
@pytest.mark.slow
def test_stream_resumes_from_start(server):
    def first_keys(start: int, n: int) -> list[str]:
        url = f"{server.url}/stream?seed=3&size=16&format=jpg&families=plasma,composed&start={start}"
        keys = []
        for sample in wds.WebDataset(url, shardshuffle=False):
            keys.append(sample["__key__"])
            if len(keys) == n:
                break
        return keys

    assert first_keys(0, 40) == [f"{i:010d}" for i in range(40)]
    assert first_keys(1234, 5) == [f"{i:010d}" for i in range(1234, 1239)]


def test_disconnect_stops_rendering(server):
    with server.client.stream("GET", "/stream", params={"size": "32", "format": "npy"}) as response:
        assert response.status_code == 200
        received = 0
        for chunk in response.iter_bytes():
            received += len(chunk)
            if received > 1 << 20:
                break
    # The stream is endless: only a stop on disconnect lets the workers go idle. With no
    # response open, no job queued and no process busy, nothing is left that could render.
    _wait(lambda: (m := server.metrics())["unnatural_render_workers_busy"] == 0
          and m["unnatural_render_queue_depth"] == 0
          and m["unnatural_active_streams{'endpoint': 'stream'}"] == 0, timeout=30)
    rendered = server.metrics()["unnatural_images_rendered_total"]
    assert server.client.get("/healthz").status_code == 200
    assert server.metrics()["unnatural_images_rendered_total"] == rendered


def test_slow_client_stalls_its_own_stream(server):
    """Backpressure: a client that stops reading stops the rendering (bounded by the prefetch
    window and socket buffers), while the server keeps answering others."""
    with server.client.stream("GET", "/stream", params={"size": "16", "format": "npy"}) as response:
        stream = response.iter_bytes()
        next(stream)
        history = [server.metrics()["unnatural_images_rendered_total"]]

        def stalled() -> bool:
            history.append(server.metrics()["unnatural_images_rendered_total"])
            return len(history) > 5 and history[-1] == history[-6]   # no change over ~1 s

        _wait(stalled, timeout=60)
        assert server.client.get("/healthz").status_code == 200
        # 16x16 npy samples are ~3.6 KB in the tar: the stall is bounded by buffers, not the stream.
        assert history[-1] - history[0] < 20_000
        next(stream)


# -- catalogue and operations ------------------------------------------------------------
def test_shaders_preview_and_gallery(server):
    catalogue = server.client.get("/shaders").json()
    names = [f["name"] for f in catalogue["families"]]
    assert len(names) == 26 and catalogue["classes"] == names + ["composed"]
    png = server.client.get("/preview.png", params={"family": "plasma", "size": 32, "seed": 1})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(png.content))
    image.verify()
    assert image.format == "PNG" and image.size[1] == 34
    page = server.client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert all(name in page.text for name in names)
    assert "preview.png?family=plasma" in page.text and "/datasets/train/train-{000000..000003}.tar" in page.text


def test_metrics_parse(server):
    server.client.get("/datasets/train/train-000001.tar")
    m = server.metrics()
    assert m["unnatural_images_rendered_total"] >= 25
    assert m["unnatural_bytes_sent_total{'endpoint': 'shard'}"] > 0
    assert m["unnatural_render_workers_ready"] == 2
    assert m["unnatural_render_seconds_count{'kind': 'chunk'}"] >= 1
    for name in ("unnatural_images_rejected_total", "unnatural_render_worker_restarts_total",
                 "unnatural_render_queue_depth"):
        assert name in m


def test_validation_errors_name_the_field(server):
    for params, field in (({"size": "4"}, "size"), ({"size": "32x9999"}, "size"), ({"size": "big"}, "size"),
                          ({"families": "plasma,nope"}, "families"), ({"seed": "-1"}, "seed"),
                          ({"format": "gif"}, "format"), ({"start": "x"}, "start")):
        response = server.client.get("/stream", params=params)
        assert response.status_code == 422, params
        detail = response.json()["detail"][0]
        assert detail["loc"] == ["query", field] and detail["msg"]
    assert "8..512" in server.client.get("/stream", params={"size": "4"}).json()["detail"][0]["msg"]
    bad = server.client.post("/datasets", json={**TRAIN, "name": "bad", "width": 4})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "width"]
    assert "8..1024" in bad.json()["detail"][0]["msg"]
    unknown = server.client.post("/datasets", json={**TRAIN, "name": "bad", "colour": 1})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "colour"]
    preview = server.client.get("/preview.png", params={"family": "nope"})
    assert preview.status_code == 422 and preview.json()["detail"][0]["loc"] == ["query", "family"]


def test_not_found(server):
    missing = server.client.get("/datasets/nope/nope-000000.tar")
    assert missing.status_code == 404 and "train" in missing.json()["detail"]
    for name in ("train-000004.tar", "train-4.tar", "train-0000001.tar", "other-000000.tar", "train-000000.zip"):
        response = server.client.get(f"/datasets/train/{name}")
        assert response.status_code == 404 and "train-000003.tar" in response.json()["detail"], name
    assert server.client.get("/datasets/nope").status_code == 404


# -- auth, limits, watchdog ----------------------------------------------------------------
def test_token_required_except_health(guarded):
    bare = httpx.Client(base_url=guarded.url, timeout=60)
    for path in ("/", "/metrics", "/shaders", "/datasets", "/datasets/small/small-000000.tar", "/stream"):
        response = bare.get(path)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer", path
        if path == "/":    # the gallery answers a browser with its sign-in form
            assert '<form method="post" action="session">' in response.text
        else:
            assert "bearer token" in response.json()["detail"]
        assert bare.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert bare.get("/healthz").status_code == 200 and bare.get("/readyz").status_code == 200
    assert guarded.client.get("/shaders").status_code == 200
    bare.close()


def test_openapi_documents_the_bearer_scheme(guarded):
    bare = httpx.Client(base_url=guarded.url, timeout=60)   # the schema and /docs need no token
    response = bare.get("/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    schemes = schema["components"]["securitySchemes"]
    assert [s for s in schemes.values() if s["type"] == "http" and s["scheme"] == "bearer"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            security = {name for requirement in operation.get("security", []) for name in requirement}
            if path in ("/healthz", "/readyz", "/session"):   # /session takes the token in its form
                assert not security, path
            else:
                assert security and security <= set(schemes), f"{method} {path}"
    for path in ("/datasets/{name}/{filename}", "/stream"):
        assert "application/x-tar" in schema["paths"][path]["get"]["responses"]["200"]["content"]
    assert bare.get("/docs").status_code == 200
    bare.close()


def test_client_helper_reads_with_token(guarded, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    template = guarded.client.get("/datasets/small").json()["url_template"]
    plain = server_urls(template)
    assert plain == [f"{guarded.url}/datasets/small/small-00000{k}.tar" for k in (0, 1)]
    with pytest.raises(Exception):  # curl -f fails on 401: stock webdataset raises
        list(wds.WebDataset(plain, shardshuffle=False))
    urls = server_urls(template, token=TOKEN)
    assert all(TOKEN not in u and u.startswith("pipe:") for u in urls)
    keys = [s["__key__"] for s in wds.WebDataset(urls, shardshuffle=False)]
    assert keys == [f"{i:010d}" for i in range(20)]
    with pytest.raises(ValueError, match="not http"):
        server_urls("/data/shard-{000000..000001}.tar")


def test_limits(guarded):
    response = guarded.client.get("/stream", params={"size": "256", "families": "plasma"})
    assert response.status_code == 422 and "8..128" in response.json()["detail"][0]["msg"]
    too_many = guarded.client.post("/datasets", json={"name": "big", "images": 1000, "images_per_shard": 500})
    assert too_many.status_code == 422 and too_many.json()["detail"][0]["loc"] == ["body", "images_per_shard"]
    user = guarded.client.post("/datasets", json={"name": "mine", "user_dir": "/etc", "mix": {"user": 1.0},
                                                   "images_per_shard": 10})
    assert user.status_code == 422 and user.json()["detail"][0]["loc"] == ["body", "user_dir"]
    with guarded.client.stream("GET", "/stream", params={"size": "16", "families": "plasma"}) as first:
        assert first.status_code == 200
        second = guarded.client.get("/stream", params={"size": "16", "families": "plasma"})
        assert second.status_code == 429 and second.headers["retry-after"] == "1"
        assert "allows 1 at once" in second.json()["detail"]
    _wait(lambda: guarded.client.get("/datasets/small/small-000000.tar").status_code == 200, timeout=30)


@pytest.mark.slow
def test_watchdog_restarts_a_hung_render(guarded):
    restarts = guarded.metrics()["unnatural_render_worker_restarts_total"]
    started = time.monotonic()
    response = guarded.client.get("/datasets/runaway/runaway-000000.tar")
    assert response.status_code == 500
    assert response.json()["detail"]["error"] == "render_timeout" and "watchdog" in response.json()["detail"]["message"]
    assert time.monotonic() - started < 60
    _wait(lambda: guarded.client.get("/readyz").status_code == 200, timeout=120)
    m = guarded.metrics()
    assert m["unnatural_render_worker_restarts_total"] == restarts + 1
    assert m["unnatural_errors_total{'kind': 'render_timeout'}"] == 1
    small = guarded.client.get("/datasets/small/small-000001.tar")
    assert small.status_code == 200 and len(small.content) % 10240 == 0


def test_bad_config_exits_2(tmp_path):
    (tmp_path / "bad.yaml").write_text("datasets:\n  - {name: x, width: 2000}\n")
    result = run_cli("serve", "--config", str(tmp_path / "bad.yaml"), "--port", str(free_port()), timeout=60)
    assert result.returncode == 2 and "width" in result.stderr and "dataset 0 (x)" in result.stderr
    empty = tmp_path / "token"
    empty.write_text("\n")
    result = run_cli("serve", "--token-file", str(empty), "--port", str(free_port()), timeout=60)
    assert result.returncode == 2 and "empty" in result.stderr


def test_settings_from_env_name_the_variable(tmp_path):
    settings = ServerSettings.from_env({"UNNATURAL_WORKERS": "3", "UNNATURAL_MAX_SIZE": "64", "UNNATURAL_PREFETCH": "",
                                        "UNNATURAL_RENDER_TIMEOUT": "2.5", "UNNATURAL_TOKEN": "t", "UNNATURAL_PORT": "80"})
    assert (settings.workers, settings.max_size, settings.prefetch, settings.render_timeout, settings.token) == \
        (3, 64, None, 2.5, "t")
    (tmp_path / "token").write_text("from-file\n")
    env = {"UNNATURAL_TOKEN_FILE": str(tmp_path / "token"), "UNNATURAL_TOKEN": "t"}
    assert ServerSettings.from_env(env).token == "from-file"
    assert ServerSettings.from_env({}) == ServerSettings()
    for env, message in (({"UNNATURAL_WORKERS": "x"}, "UNNATURAL_WORKERS='x' is invalid: allowed 1..256"),
                         ({"UNNATURAL_MAX_SIZE": "4"}, "UNNATURAL_MAX_SIZE='4' is invalid: allowed 8..1024 pixels"),
                         ({"UNNATURAL_RENDER_TIMEOUT": "0"}, "allowed 0.1..86400 seconds"),
                         ({"UNNATURAL_TOKEN_FILE": str(tmp_path / "none")}, "cannot be read")):
        with pytest.raises(SettingsError, match=re.escape(message)):
            ServerSettings.from_env(env)
    for kwargs, message in (({"max_streams": 0}, "max_streams 0 is invalid: allowed 1..10000"),
                            ({"token": ""}, "token '' is invalid: allowed a non-empty string"),
                            ({"colour": 1}, "colour is not a setting")):
        with pytest.raises(SettingsError, match=message):
            ServerSettings(**kwargs)
