"""kill -9 a real `unnatural render` at several moments, resume, and get the uninterrupted bytes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli
from unnatural.generator.files import sha256_file

ARGS = ["--images", "960", "--images-per-shard", "40", "--size", "32", "--format", "png", "--seed", "5",
        "--families", "plasma,warped_stripes,voronoi_cells,fbm_noise", "--composed-programs", "2", "--workers", "2",
        "--no-progress"]


def _children(pid: int) -> set[int]:
    """Pids whose parent is ``pid`` (from /proc; ignores processes that exit meanwhile)."""
    found = set()
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(proc.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except (OSError, IndexError):
        return False


def _run_and_kill(out, delay_s: float) -> tuple[bool, set[int]]:
    """Start a resumable render, SIGKILL it after ``delay_s``; returns whether it was still
    running, and the pids of the render processes it had started (this test's own)."""
    proc = subprocess.Popen([sys.executable, "-m", "unnatural", "render", "--out", str(out), *ARGS, "--resume"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    try:
        proc.wait(timeout=delay_s)
    except subprocess.TimeoutExpired:
        workers = _children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return proc.returncode == -signal.SIGKILL, workers


def _exit_in_time(pids: set[int], timeout_s: float = 10.0) -> bool:
    """True once none of ``pids`` is alive (polled)."""
    deadline = time.monotonic() + timeout_s
    while any(_alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


@pytest.mark.slow
def test_kill_and_resume_matches_uninterrupted(tmp_path):
    reference = tmp_path / "reference"
    start = time.monotonic()
    result = run_cli("render", "--out", str(reference), *ARGS)
    full = time.monotonic() - start
    assert result.returncode == 0, result.stderr
    out = tmp_path / "killed"
    # Kill moments spread over a run: during start-up, mid-render, while shards and the
    # manifest are being written. Each run resumes the previous one's leftovers.
    runs = [_run_and_kill(out, full * f) for f in (0.15, 0.5, 0.45, 0.6, 0.55)]
    assert any(killed for killed, _ in runs)
    workers = set().union(*(pids for _, pids in runs))
    assert _exit_in_time(workers), "render processes outlived their killed parent"
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
    stale = tmp_path / ".unnatural-000009.tar.tmp-4242"
    stale.write_bytes(good[:1000])                   # a killed writer's leftover
    again = run_cli("render", "--out", str(tmp_path), *ARGS, "--resume")
    assert again.returncode == 0, again.stderr
    assert victim.read_bytes() == good and (tmp_path / "unnatural-000007.tar").exists()
    assert not stale.exists()
