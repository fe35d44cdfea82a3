"""The hand-written library: catalogue matches the files, every family renders non-degenerate images."""
from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

from unnatural.generator.program import ProgramSource
from unnatural.generator.quality import QualityFilter
from unnatural.generator.sampling import uniforms
from unnatural.shaders import family_info, family_names, family_source


def test_catalogue_matches_files():
    files = {p.name[:-5] for p in resources.files("shaders").joinpath("families").iterdir() if p.name.endswith(".glsl")}
    assert set(family_names()) == files and len(family_names()) == len(set(family_names()))


@pytest.mark.parametrize("name", family_names())
def test_family_renders_varied_non_degenerate_images(renderer, name):
    info = family_info(name)
    assert info.summary and info.params, "header lines // summary: and // params: are required"
    body = family_source(name)
    assert "mainImage" in body and "iParams" in body and "iChannel" not in body
    u = uniforms(2024, np.arange(64), 0, 17)
    images, nonfinite = renderer.render(ProgramSource(name, name, body), 0.1 + 9.9 * u[:, 0], u[:, 1:], (48, 48))
    accepted = QualityFilter().accept(images, nonfinite)
    assert accepted.mean() >= 0.9, f"{name}: {int((~accepted).sum())} of 64 draws degenerate"
    # parameters matter: the 64 draws differ from each other
    flat = images.reshape(64, -1).astype(np.float32)
    assert len({hash(row.tobytes()) for row in images}) == 64
    assert np.abs(flat[:32] - flat[32:]).mean() > 10
