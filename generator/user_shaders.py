"""User folders of single-pass Shadertoy-style shaders, validated before use.

Every ``*.glsl``/``*.frag`` file with a ``mainImage`` is wrapped like the library's own
programs (same prelude: ``iResolution``, ``iTime``, ``iParams``). Files are loaded as a
Shadertoy user expects (:func:`shadertoy_body`): a standalone ``void main()`` wrapper, a
``#version`` line, fragment outputs and redeclared standard uniforms are dropped, and a
``common.glsl`` in the folder (Shadertoy's "Common" tab) is prepended to every shader. Files
are rejected, with a reason, when they sample a texture (``iChannel*`` or any sampler:
Shaders21k's single-pass, no-texture rule), lack ``mainImage``, fail to compile, render
NaN/Inf or near-constant probe images, or are too slow; with a probe time limit (the offline
``render`` always sets one), a probe that runs past it gets its render process killed and
restarted, and the file is rejected as timed out. Rejected files never reach a dataset.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from .program import N_PARAMS, ProgramSource
from .quality import QualityFilter
from .render_process import RenderTimeout, WatchedRenderProcess
from .renderer import Renderer, ShaderCompileError

EXTENSIONS = (".glsl", ".frag")
PROBES = 8                 # probe images per shader, at PROBE_SIZE
PROBE_SIZE = (64, 64)
MAX_MS_PER_PROBE = 50.0    # ~3 ms/image is typical at 64 px on llvmpipe; 50 ms means hopeless
COMMON_FILE = "common.glsl"   # Shadertoy's "Common" tab, prepended to every shader of the folder
_MAIN_RE = re.compile(r"\bvoid\s+mainImage\s*\(")
# Shadertoy's inputs. The prelude defines most of them (some as macros, which a redeclaration
# would break); these declarations supply the rest, so a shader that merely names them compiles.
STANDARD_INPUTS = {"iResolution", "iTime", "iTimeDelta", "iFrameRate", "iFrame", "iChannelTime",
                   "iChannelResolution", "iMouse", "iDate", "iSampleRate",
                   "iChannel0", "iChannel1", "iChannel2", "iChannel3"}
_MISSING_INPUTS = """const float iChannelTime[4] = float[4](0.0, 0.0, 0.0, 0.0);
const vec3 iChannelResolution[4] = vec3[4](vec3(0.0), vec3(0.0), vec3(0.0), vec3(0.0));
const float iSampleRate = 44100.0;
"""
# GLSL's texture lookups, desktop and ES/WebGL 1 spellings: a call of any of them samples a texture.
_SAMPLERS = ("texture textureProj textureLod textureOffset texelFetch texelFetchOffset textureProjOffset "
             "textureLodOffset textureProjLod textureProjLodOffset textureGrad textureGradOffset textureProjGrad "
             "textureProjGradOffset textureGather textureGatherOffset textureGatherOffsets textureSize "
             "textureQueryLod textureQueryLevels texture1D texture2D texture3D textureCube texture2DProj "
             "texture2DLod texture2DProjLod textureCubeLod texture2DLodEXT texture2DGradEXT textureCubeLodEXT "
             "textureCubeGradEXT shadow2D shadow2DProj").split()
_SAMPLE_RE = re.compile(r"\b(" + "|".join(_SAMPLERS) + r")\s*\(\s*(\w*)")
_COMMENT_RE = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_VERSION_RE = re.compile(r"^[ \t]*#[ \t]*version\b[^\n]*", re.M)
_WRAPPER_RE = re.compile(r"\bvoid\s+main\s*\(\s*(?:void\s*)?\)\s*\{")
# A global fragment output (function parameters end in `,` or `)`, never in `;`).
_OUTPUT_RE = re.compile(r"\b(?:layout\s*\([^)]*\)\s*)?out\s+(?:(?:lowp|mediump|highp)\s+)?vec4\s+\w+\s*;")
_UNIFORM_RE = re.compile(r"\buniform\s+((?:(?:lowp|mediump|highp)\s+)?\w+)\s+([^;]*);")


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


def _blank(text: str) -> str:
    """``text`` with every character but newlines replaced by a space: edits keep line numbers."""
    return re.sub(r"[^\n]", " ", text)


def _drop_wrapper(code: str) -> str:
    """``code`` without its ``void main()`` definitions (a standalone Shadertoy wrapper, possibly
    inside ``#ifdef`` guards, which stay and are then empty); the epilogue supplies ``main``."""
    while match := _WRAPPER_RE.search(code):
        depth, end = 0, len(code)
        for i in range(match.end() - 1, len(code)):
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            if depth == 0:
                end = i + 1
                break
        code = code[:match.start()] + _blank(code[match.start():end]) + code[end:]
    return code


def _drop_standard_uniforms(code: str) -> str:
    """``code`` without declarations of Shadertoy's standard uniforms: the prelude has them."""
    def keep_others(match: re.Match) -> str:
        names = [d.strip() for d in match.group(2).split(",")
                 if re.match(r"\s*(\w*)", d).group(1) not in STANDARD_INPUTS]
        kept = f"uniform {match.group(1)} {', '.join(names)};" if names else ""
        return kept + "\n" * match.group(0).count("\n")
    return _UNIFORM_RE.sub(keep_others, code)


def shadertoy_body(source: str, common: str = "") -> tuple[str, str]:
    """The ``mainImage`` body to compile for a Shadertoy-style ``source``, and a rejection reason
    (``""`` if none is known before compiling).

    Comments are blanked; a ``#version`` line, ``void main()`` wrappers, global ``out vec4``
    outputs and redeclared standard uniforms (``uniform float iTime;``, ``uniform sampler2D
    iChannel0;``) are dropped, all keeping line numbers. ``common`` (a folder's ``common.glsl``)
    goes first, as source string 1, then the shader as source string 0, so compile logs read
    ``1:LINE`` for the common file and ``0:LINE`` for the shader. Only real texture sampling
    rejects a shader, and only a missing ``mainImage`` before compiling.
    """
    parts = []
    for where, text in ((f" in {COMMON_FILE}", common), ("", source)):
        code = _COMMENT_RE.sub(lambda m: _blank(m.group(0)), text)
        sample = _SAMPLE_RE.search(code)
        if sample:
            what = sample.group(2) or "a sampler"
            return "", (f"samples texture input {what} with {sample.group(1)}(){where} "
                        "(only single-pass shaders without iChannel inputs)")
        code = _VERSION_RE.sub("", code)
        code = _OUTPUT_RE.sub(lambda m: _blank(m.group(0)), _drop_wrapper(code))
        parts.append(_drop_standard_uniforms(code))
    if not _MAIN_RE.search(parts[1]):
        return "", "no `void mainImage(out vec4 fragColor, in vec2 fragCoord)` function"
    body = _MISSING_INPUTS + (f"#line 1 1\n{parts[0]}\n" if common else "") + "#line 1 0\n" + parts[1]
    return body, ""


def load_user_folder(folder: str | Path, renderer: Renderer | None = None,
                     timeout: float | None = None) -> UserFolder:
    """Read, compile and probe every shader file in ``folder`` (not recursive, sorted by name).

    Args:
        folder: the shader folder.
        renderer: probes run on it, in this process (``None``: this module's own, created once
            per process when first needed).
            Ignored when ``timeout`` is set.
        timeout: seconds one shader's probe may take (:data:`~.render_process.PROBE_TIMEOUT_S`
            is a sensible limit); ``None``: no limit. With a limit, probes run in a spawned render process
            (:class:`~.render_process.WatchedRenderProcess`) that is killed past it, and the
            shader is rejected as timed out; the next probe gets a fresh process.

    Raises:
        FileNotFoundError / NotADirectoryError: ``folder`` is missing or not a folder.
        RuntimeError: with ``timeout``, the render process could not start (no GL).
    """
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"shader folder {str(folder)!r} does not exist")
    if not folder.is_dir():
        raise NotADirectoryError(f"shader folder {str(folder)!r} is not a directory")
    result = UserFolder()
    common_path = folder / COMMON_FILE
    common, common_error = "", ""
    if common_path.is_file():
        try:
            common = common_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            common_error = f"{COMMON_FILE} is unreadable ({exc})"
    files = sorted(p for p in folder.iterdir()
                   if p.suffix.lower() in EXTENSIONS and p.is_file() and p.name != COMMON_FILE)
    with WatchedRenderProcess() as watched:
        for path in files:
            program_id = f"user/{path.name}"
            try:
                source = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                result.reports.append(ShaderReport(str(path), program_id, "rejected", f"unreadable ({exc})"))
                continue
            ms = None
            body, reason = shadertoy_body(source, common)
            reason = common_error or reason
            if not reason:
                program = ProgramSource(program_id, f"user:{path.name}", body, library=False)
                if timeout is None:
                    renderer = renderer or _probe_renderer()
                    reason, ms = validate_program(program, renderer)
                else:
                    reason, ms = _watched_probe(watched, program, timeout)
                if not reason:
                    result.accepted.append(program)
            result.reports.append(ShaderReport(str(path), program_id, "rejected" if reason else "ok", reason, ms))
    return result


@cache
def _probe_renderer() -> Renderer:
    # One per process, not one per folder read: every ProgramTable of a user-folder spec reads
    # its folder, and each Renderer is an EGL context (its own programs and atlas).
    return Renderer()


def _probe(renderer: Renderer, program: ProgramSource) -> tuple[str, float | None]:
    # WatchedRenderProcess passes its renderer first.
    return validate_program(program, renderer)


def _watched_probe(watched: WatchedRenderProcess, program: ProgramSource, timeout: float) -> tuple[str, float | None]:
    """:func:`validate_program` in ``watched``'s process, a timeout turned into a rejection reason."""
    try:
        return watched.call(_probe, program, timeout=timeout)
    except RenderTimeout:
        return (f"timed out: the probe ({PROBES + 1} images at {PROBE_SIZE[0]}x{PROBE_SIZE[1]}) ran longer than "
                f"{timeout:g} s; its render process was killed"), None
