"""kill -9 a real `unnatural render` at several moments, resume, and get the uninterrupted bytes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from generator.files import sha256_file
from tests.conftest import ROOT, run_cli

ARGS = ["--images", "480", "--images-per-shard", "40", "--size", "16", "--format", "png", "--seed", "5",
        "--families", "plasma,warped_stripes,voronoi_cells,fbm_noise", "--composed-programs", "2", "--workers", "2",
        "--no-progress"]


def _start(out):
    return subprocess.Popen([sys.executable, "-m", "generator.cli", "render", "--out", str(out), *ARGS, "--resume"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _kill_when(proc, condition, deadline_s=120.0):
    start = time.monotonic()
    while not condition():
        if proc.poll() is not None or time.monotonic() - start > deadline_s:
            break
        time.sleep(0.01)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def _done_shards(out):
    try:
        return len(json.loads((out / "manifest.json").read_text())["shards"])
    except (OSError, ValueError, KeyError):
        return 0


def test_kill_and_resume_matches_uninterrupted(tmp_path):
    reference = tmp_path / "reference"
    result = run_cli("render", "--out", str(reference), *ARGS)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "killed"
    # 1: killed while the first shard is being written (a temporary file exists)
    proc = _start(out)
    _kill_when(proc, lambda: out.exists() and any(p.name.startswith(".") and "tmp" in p.name for p in out.iterdir()))
    # 2: killed right after the first manifest lists finished shards
    proc = _start(out)
    _kill_when(proc, lambda: _done_shards(out) >= 1)
    # 3: killed half-way through the remaining work
    proc = _start(out)
    _kill_when(proc, lambda: _done_shards(out) >= 7)
    killed_at = _done_shards(out)
    assert killed_at < 12, "the job finished before it could be killed; make it bigger"
    # resume to completion
    final = run_cli("render", "--out", str(out), *ARGS, "--resume")
    assert final.returncode == 0, final.stderr
    ref = json.loads((reference / "manifest.json").read_text())
    got = json.loads((out / "manifest.json").read_text())
    assert got["complete"] and [s["sha256"] for s in got["shards"]] == [s["sha256"] for s in ref["shards"]]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in reference.iterdir())
    for entry in ref["shards"]:
        assert sha256_file(out / entry["name"]) == entry["sha256"]


def test_resume_rerenders_a_corrupted_shard(tmp_path):
    assert run_cli("render", "--out", str(tmp_path), *ARGS).returncode == 0
    victim = tmp_path / "unnatural-000003.tar"
    good = victim.read_bytes()
    victim.write_bytes(good[: len(good) // 2])      # truncated, as by a crash mid-copy
    (tmp_path / "unnatural-000007.tar").unlink()
    again = run_cli("render", "--out", str(tmp_path), *ARGS, "--resume")
    assert again.returncode == 0, again.stderr
    assert victim.read_bytes() == good and (tmp_path / "unnatural-000007.tar").exists()
