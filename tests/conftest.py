"""Shared fixtures: one real EGL context (Mesa llvmpipe here, NVIDIA on GPU machines)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from unnatural.generator.renderer import Renderer

ROOT = Path(__file__).resolve().parents[1]

# A user-folder shader that is constant for half of its parameter space: the quality filter
# must catch those images and replace them deterministically.
HALF_CONSTANT = """
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.xy;
    vec3 c = 0.5 + 0.5 * cos(6.2831 * (uv.xyx * (2.0 + 5.0 * iParams[1].x) + iTime + vec3(0, 2, 4)));
    fragColor = vec4(iParams[0].x < 0.35 ? vec3(0.2) : c, 1.0);
}
"""


@pytest.fixture(scope="session")
def renderer() -> Renderer:
    return Renderer()


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module: when other processes share the 2 cores, two OpenMP
    threads spin against each other (a cnn training step measured 8x slower); one thread is also
    deterministic."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def run_cli(*args: str, timeout: float = 300, **kwargs):
    """Run the real ``unnatural`` console entry point in a subprocess."""
    import subprocess

    return subprocess.run([sys.executable, "-m", "unnatural", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=kwargs.pop("cwd", ROOT), **kwargs)
