"""User folders of single-pass Shadertoy-style shaders, validated before use.

Every ``*.glsl``/``*.frag`` file with a ``mainImage`` is wrapped like the library's own
programs (same prelude: ``iResolution``, ``iTime``, ``iParams``). Files are rejected, with a
reason, when they use texture inputs (``iChannel*``: Shaders21k's single-pass, no-texture rule),
lack ``mainImage``, fail to compile, render NaN/Inf or near-constant probe images, or are too
slow. Rejected files never reach a dataset.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .program import N_PARAMS, ProgramSource
from .quality import QualityFilter
from .renderer import Renderer, ShaderCompileError

EXTENSIONS = (".glsl", ".frag")
PROBES = 8                 # probe images per shader, at PROBE_SIZE
PROBE_SIZE = (64, 64)
MAX_MS_PER_PROBE = 50.0    # ~3 ms/image is typical at 64 px on llvmpipe; 50 ms means hopeless
_MAIN_RE = re.compile(r"\bvoid\s+mainImage\s*\(")
_CHANNEL_RE = re.compile(r"\biChannel(?:\d|Resolution|Time)\w*")


@dataclass(frozen=True)
class ShaderReport:
    """Validation result of one file: ``status`` is ``"ok"`` or ``"rejected"`` with a ``reason``;
    ``ms_per_image`` is the probe render time at 64x64 (None if it never rendered)."""

    path: str
    program_id: str
    status: str
    reason: str = ""
    ms_per_image: float | None = None


@dataclass
class UserFolder:
    """Accepted programs (``family`` = ``user:<file name>``) and one report per file."""

    accepted: list[ProgramSource] = field(default_factory=list)
    reports: list[ShaderReport] = field(default_factory=list)


def probe_draws() -> tuple[np.ndarray, np.ndarray]:
    """Fixed probe inputs: ``(PROBES,)`` times spread over [0.1, 10] s, ``(PROBES, 16)`` params."""
    times = np.linspace(0.1, 10.0, PROBES, dtype=np.float32)
    params = ((np.arange(PROBES * N_PARAMS).reshape(PROBES, N_PARAMS) * 0.618034) % 1.0).astype(np.float32)
    return times, params


def validate_program(program: ProgramSource, renderer: Renderer, quality: QualityFilter = QualityFilter()) -> tuple[str, float | None]:
    """Compile and probe-render one program; returns ``(reason, ms_per_image)``, reason ``""`` if ok."""
    try:
        renderer.compile(program)
    except ShaderCompileError as exc:
        first = next((line for line in exc.log.splitlines() if "error" in line.lower()), exc.log.strip())
        return f"compile error: {first.strip()[:200]}", None
    times, params = probe_draws()
    renderer.render(program, times[:1], params[:1], PROBE_SIZE)   # first draw pays the JIT compile
    start = time.perf_counter()
    images, nonfinite = renderer.render(program, times, params, PROBE_SIZE)
    ms = (time.perf_counter() - start) * 1000 / PROBES
    reasons = quality.reasons(images, nonfinite)
    bad = reasons != ""
    if bad.sum() * 2 > PROBES:
        worst = max(set(reasons[bad]), key=list(reasons[bad]).count)
        words = {"nonfinite": "NaN/Inf output", "constant": "near-constant output",
                 "one_colour": "nearly one-colour output"}[worst]
        return f"{words} ({int(bad.sum())} of {PROBES} probe images rejected)", ms
    if ms > MAX_MS_PER_PROBE:
        return f"too slow ({ms:.0f} ms per 64x64 image > {MAX_MS_PER_PROBE:.0f} ms)", ms
    return "", ms


def load_user_folder(folder: str | Path, renderer: Renderer | None = None) -> UserFolder:
    """Read, compile and probe every shader file in ``folder`` (not recursive, sorted by name).

    Raises:
        FileNotFoundError / NotADirectoryError: ``folder`` is missing or not a folder.
    """
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"shader folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise NotADirectoryError(f"shader folder {str(folder)!r} is not a directory")
    result = UserFolder()
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in EXTENSIONS and p.is_file())
    for path in files:
        program_id = f"user/{path.name}"
        try:
            body = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            result.reports.append(ShaderReport(str(path), program_id, "rejected", f"unreadable ({exc})"))
            continue
        reason, ms = "", None
        channel = _CHANNEL_RE.search(body)
        if channel:
            reason = f"uses texture input {channel.group(0)} (only single-pass shaders without iChannel inputs)"
        elif not _MAIN_RE.search(body):
            reason = "no `void mainImage(out vec4 fragColor, in vec2 fragCoord)` function"
        else:
            program = ProgramSource(program_id, f"user:{path.name}", body, library=False)
            renderer = renderer or Renderer()
            reason, ms = validate_program(program, renderer)
            if not reason:
                result.accepted.append(program)
        result.reports.append(ShaderReport(str(path), program_id, "rejected" if reason else "ok", reason, ms))
    return result
