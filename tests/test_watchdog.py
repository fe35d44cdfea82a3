"""The offline watchdog (issue 13 item 10): a user shader that runs for minutes on llvmpipe is
killed at its probe's time limit and rejected by ``render`` itself, and a task that hangs is
killed, retried once on fresh render processes, then ends the job; no render process outlives
the command."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import HALF_CONSTANT, ROOT

# llvmpipe caps a loop at 65535 iterations, so a long loop alone is cheap (~1 s per 64x64 image);
# 32 dependent sines per iteration make one 64x64 image take ~30 s, a probe minutes. The bound
# comes from a uniform, so the compiler cannot drop or shorten the loop. SLOW_WHEN is a GLSL
# condition: the shader is that slow only where it holds.
_SLOW = """void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.xy;
    float acc = uv.x;
    int n = SLOW_WHEN ? int(60000.0 * (1.0 + iParams[0].x)) : 1;
    for (int i = 0; i < n; i++) { BODY }
    fragColor = vec4(acc, uv, 1.0);
}
""".replace("BODY", "acc = fract(acc * 1.37 + sin(acc * 3.1 + uv.y)); " * 32)
DEADLINE_S = 400          # the whole command, on a loaded 2-core machine; a hang would run for hours
TINY = ["--images", "8", "--images-per-shard", "4", "--size", "8", "--families", "none",
        "--composed-weight", "0", "--workers", "1", "--no-progress"]


def _session_processes(sid: int) -> list[int]:
    """Pids of live processes in session ``sid`` (zombies excluded)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:   # exited while we looked
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids


def _render(*args: str) -> tuple[subprocess.CompletedProcess, float]:
    """``unnatural render`` in its own session (its pid is the session id, which every render
    process it spawns inherits); returns the result and the seconds it took, after checking that
    nothing of that session is left."""
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "unnatural", "render", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=DEADLINE_S)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
    seconds = time.monotonic() - t0
    left = _session_processes(proc.pid)
    deadline = time.monotonic() + 10   # a killed child may take a moment to be reaped
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = _session_processes(proc.pid)
    assert not left, f"render processes outlived `render`: {left}"
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), seconds


def test_hanging_user_shader_is_rejected_at_its_probe_limit(tmp_path):
    shaders = tmp_path / "shaders"
    shaders.mkdir()
    (shaders / "good.glsl").write_text(HALF_CONSTANT)
    (shaders / "hang.glsl").write_text(_SLOW.replace("SLOW_WHEN", "true"))
    out = tmp_path / "out"
    result, seconds = _render("--out", str(out), "--user-dir", str(shaders), "--probe-timeout", "5", *TINY)
    assert result.returncode == 0, result.stderr
    assert seconds < DEADLINE_S
    manifest = json.loads((out / "manifest.json").read_text())
    reason = manifest["user_rejected"]["user/hang.glsl"]
    assert reason.startswith("timed out") and "5 s" in reason
    assert list(manifest["user_rejected"]) == ["user/hang.glsl"]
    assert "user:hang.glsl" not in manifest["classes"] and "user:good.glsl" in manifest["classes"]
    assert manifest["complete"] and manifest["samples"] == 8
    assert "1 user shaders rejected" in result.stdout and f"user/hang.glsl: {reason}" in result.stdout

    # A resume whose probe accepts the shader (here: no longer there) would draw another table.
    (shaders / "hang.glsl").unlink()
    again, _ = _render("--out", str(out), "--user-dir", str(shaders), "--resume", *TINY)
    assert again.returncode == 2
    assert "user/hang.glsl (accepted now)" in again.stderr


def test_hanging_task_is_killed_retried_once_then_ends_the_job(tmp_path):
    # Fast at the probe's times (<= 10 s), hopeless at the job's iTime of 100 s.
    shaders = tmp_path / "shaders"
    shaders.mkdir()
    (shaders / "late.glsl").write_text(_SLOW.replace("SLOW_WHEN", "iTime > 50.0"))
    out = tmp_path / "out"
    result, seconds = _render("--out", str(out), "--user-dir", str(shaders), "--time-range", "100,100",
                              "--task-timeout", "3", *TINY, "--size", "32")   # ~8 s an image
    assert result.returncode == 2, result.stderr
    assert seconds < DEADLINE_S
    assert result.stderr.count("ran longer than the task limit (3 s)") == 2
    assert "restarting the render processes" in result.stderr and "rerun with --resume" in result.stderr
