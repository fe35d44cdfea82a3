"""kill -9 a real `unnatural render` at several moments, resume, and get the uninterrupted bytes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from generator.files import sha256_file
from tests.conftest import ROOT, run_cli

ARGS = ["--images", "960", "--images-per-shard", "40", "--size", "32", "--format", "png", "--seed", "5",
        "--families", "plasma,warped_stripes,voronoi_cells,fbm_noise", "--composed-programs", "2", "--workers", "2",
        "--no-progress"]


def _run_and_kill(out, delay_s: float) -> bool:
    """Start a resumable render, SIGKILL it after ``delay_s``; True if it was still running."""
    proc = subprocess.Popen([sys.executable, "-m", "generator.cli", "render", "--out", str(out), *ARGS, "--resume"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=delay_s)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return proc.returncode == -signal.SIGKILL


def _orphaned_workers_exit(timeout_s: float = 10.0) -> bool:
    """True once no spawned multiprocessing worker of ours is left re-parented to init."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        orphans = []
        for proc in Path("/proc").iterdir():
            try:
                cmdline = (proc / "cmdline").read_bytes()
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if b"multiprocessing.spawn" in cmdline and sys.executable.encode() in cmdline and ppid == 1:
                orphans.append(proc.name)
        if not orphans:
            return True
        time.sleep(0.2)
    return False


def test_kill_and_resume_matches_uninterrupted(tmp_path):
    reference = tmp_path / "reference"
    start = time.monotonic()
    result = run_cli("render", "--out", str(reference), *ARGS)
    full = time.monotonic() - start
    assert result.returncode == 0, result.stderr
    out = tmp_path / "killed"
    # Kill moments spread over a run: during start-up, mid-render, while shards and the
    # manifest are being written. Each run resumes the previous one's leftovers.
    killed = [_run_and_kill(out, full * f) for f in (0.15, 0.5, 0.45, 0.6, 0.55)]
    assert any(killed)
    assert _orphaned_workers_exit(), "render processes outlived their killed parent"
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
