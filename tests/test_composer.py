"""Program composer: determinism, seed validation, compile check and render quality.

Real EGL rendering through ``unnatural.generator.renderer.Renderer`` (the session ``renderer`` fixture
of conftest.py; no mocks). The degenerate test below uses the strict definition of the
composer's brief (std < 8, > 90 % within 12 of the median), stricter than the default
``unnatural.generator.quality`` thresholds. Default sizes keep the file near a minute on a 2-core
llvmpipe machine with a cold Mesa shader cache (linking one composed program costs ~15 ms,
its first draw ~130 ms of LLVM code generation);
``UNNATURAL_COMPOSER_SEEDS=N`` compile-checks N seeds and render-checks N // 8 seeds for a
deeper run (defaults 1500 and 187). Measured: ~70 s cold (MESA_SHADER_CACHE_DISABLE=true) on
a 2-core llvmpipe machine shared with other work, ~10 s with a warm Mesa cache.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from unnatural.generator.composer import MAX_SEED, _blocks, compose
from unnatural.generator.program import N_PARAMS, ProgramSource
from unnatural.generator.renderer import Renderer

COMPILE_SEEDS = int(os.environ.get("UNNATURAL_COMPOSER_SEEDS", "1500"))
RENDER_SEEDS = max(20, COMPILE_SEEDS // 8)
DRAWS = 6  # parameter/time draws rendered per program
SIZE = 32

# Seeds at the edges of the allowed range and spread across it, besides 0 .. N-1.
EDGE_SEEDS = [MAX_SEED, MAX_SEED - 1, 2**31 - 2**16, 2**30, 2**24 + 1, 99_999_999, 100_000_000]


def degenerate(images: np.ndarray, nonfinite: np.ndarray) -> np.ndarray:
    """``(N,) bool``: pixel std < 8 (0..255), or > 90 % of pixels within 12 (every channel)
    of the image's median colour, or any non-finite pixel."""
    x = images.reshape(images.shape[0], -1, 3).astype(np.float32)
    std = x.reshape(x.shape[0], -1).std(axis=1)
    median = np.median(x, axis=1)
    near = (np.abs(x - median[:, None, :]).max(axis=2) <= 12).mean(axis=1)
    return (std < 8) | (near > 0.9) | (nonfinite > 0)


def test_degenerate_metric() -> None:
    flat = np.full((1, 8, 8, 3), 77, np.uint8)
    halves = np.zeros((1, 8, 8, 3), np.uint8)
    halves[:, :4] = 255
    speck = flat.copy()
    speck[:, 0, :5] = 255  # 5 of 64 pixels differ: still > 90 % near the median
    images = np.concatenate([flat, halves, speck, halves])
    assert degenerate(images, np.array([0, 0, 0, 0.01])).tolist() == [True, False, True, True]


# -- API, determinism ----------------------------------------------------------------------
def test_program_fields() -> None:
    prog = compose(42)
    assert isinstance(prog, ProgramSource)
    assert prog.program_id == "composed-00000042"
    assert prog.family == "composed"
    assert prog.library is True
    assert "void mainImage(out vec4 fragColor, in vec2 fragCoord)" in prog.body
    assert compose(MAX_SEED).program_id == f"composed-{MAX_SEED:08d}"
    assert compose(np.int64(42)).body == prog.body


@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1, 2**40, 1.5, "3", None, True])
def test_bad_seed(seed: object) -> None:
    with pytest.raises(ValueError, match=rf"{re.escape(repr(seed))}.*0\.\.{MAX_SEED}"):
        compose(seed)  # type: ignore[arg-type]


def test_deterministic_and_distinct() -> None:
    seeds = range(1000)
    first = [compose(s).body for s in seeds]
    assert first == [compose(s).body for s in seeds]
    distinct = len(set(first))
    assert distinct >= 0.95 * len(first), f"only {distinct} distinct bodies over {len(first)} seeds"
    # Different seeds give different programs: structure (block calls), not just constants.
    structures = {tuple(re.findall(r"\b(c[a-z]_\w+)\(", b.split("void mainImage")[1])) for b in first}
    assert len(structures) >= 0.8 * len(first)


def test_same_bytes_in_fresh_interpreters() -> None:
    """No dependence on hash randomisation, import order or process state."""
    seeds = [0, 7, 123456, MAX_SEED]
    here = [compose(s).digest for s in seeds]
    code = f"from unnatural.generator.composer import compose; print([compose(s).digest for s in {seeds}])"
    for hashseed in ("0", "4242"):
        env = dict(os.environ, PYTHONHASHSEED=hashseed)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == repr(here)


def test_only_used_blocks_are_included() -> None:
    blocks = _blocks()
    for seed in range(50):
        body = compose(seed).body
        glue = body.split("void mainImage")[1]
        called = set(re.findall(r"\b(c[a-z]_\w+)\(", glue))
        defined = set(re.findall(r"^\w+ (c[a-z]_\w+)\(", body, re.MULTILINE))
        needed, todo = set(), list(called)
        while todo:
            name = todo.pop()
            if name not in needed:
                needed.add(name)
                todo.extend(blocks[name].needs)
        # Helpers can define several functions (cb_tri and cb_tri2): compare block names.
        defined_blocks = {name for name in defined if name in blocks}
        assert defined_blocks == needed, f"seed {seed}: defines {defined_blocks ^ needed} needlessly or not"


def test_params_and_time_are_used() -> None:
    bodies = [compose(s).body for s in range(200)]
    assert all("iParams[" in b for b in bodies)
    assert sum("iTime" in b for b in bodies) >= 0.8 * len(bodies)


# -- GL ---------------------------------------------------------------------------------------
def test_every_program_compiles(renderer: Renderer) -> None:
    """Link (GLSL front end) thousands of programs; every block must appear in some of them."""
    seeds = list(range(COMPILE_SEEDS)) + EDGE_SEEDS
    used: set[str] = set()
    for seed in seeds:
        prog = compose(seed)
        renderer.compile(prog)  # raises ShaderCompileError with the driver log
        used.update(re.findall(r"\b(c[a-z]_\w+)\(", prog.body.split("void mainImage")[1]))
    callable_blocks = {b.name for b in _blocks().values() if b.kind != "helper"}
    assert callable_blocks - used == set(), "blocks never composed (never compile-checked)"


def test_rendered_images_are_not_degenerate(renderer: Renderer) -> None:
    """Render DRAWS random (time, params) per program at 32 px for a spread of seeds."""
    rng = np.random.default_rng(20240611)
    seeds = sorted(set(rng.integers(0, MAX_SEED, RENDER_SEEDS, endpoint=True).tolist()))
    total_bad, total = 0, 0
    worst: list[tuple[float, int]] = []
    for seed in seeds:
        times = rng.uniform(0.1, 10.0, DRAWS)
        params = rng.random((DRAWS, N_PARAMS))
        images, nonfinite = renderer.render(compose(seed), times, params, (SIZE, SIZE))
        assert images.shape == (DRAWS, SIZE, SIZE, 3) and images.dtype == np.uint8
        assert not nonfinite.any(), f"seed {seed}: non-finite pixels {nonfinite}"
        bad = degenerate(images, nonfinite)
        assert not bad.all(), f"seed {seed}: every image degenerate"
        # One program yields different images for different parameters.
        assert len({img.tobytes() for img in images}) == DRAWS, f"seed {seed}: repeated images"
        total_bad += int(bad.sum())
        total += DRAWS
        worst.append((float(bad.mean()), seed))
    rate = total_bad / total
    worst.sort(reverse=True)
    assert rate < 0.05, f"degenerate rate {rate:.1%} over {total} images; worst programs {worst[:5]}"
