"""Quality filter: degenerate images are rejected and replaced deterministically."""
from __future__ import annotations

import numpy as np

from unnatural.generator.quality import QualityFilter
from unnatural.generator.sampling import ProgramTable
from unnatural.generator.shard import render_samples
from unnatural.generator.spec import DatasetSpec


def test_reasons(rng):
    f = QualityFilter()
    noise = rng.integers(0, 256, (1, 32, 32, 3), dtype=np.uint8)
    constant = np.full((1, 32, 32, 3), 77, np.uint8)
    specks = np.zeros((1, 32, 32, 3), np.uint8)
    specks[0][rng.random((32, 32)) < 0.04] = 255   # 4% bright dots on black: std passes, one colour fails
    images = np.concatenate([noise, constant, specks, noise])
    reasons = f.reasons(images, np.array([0, 0, 0, 0.01]))
    assert list(reasons) == ["", "constant", "one_colour", "nonfinite"]
    assert f.accept(images, np.zeros(4)).tolist() == [True, False, False, True]


def test_rejected_images_are_replaced_deterministically(renderer, tmp_path):
    from tests.conftest import HALF_CONSTANT

    (tmp_path / "half.glsl").write_text(HALF_CONSTANT)
    spec = DatasetSpec(images=200, images_per_shard=200, mix={"user": 1.0}, user_dir=str(tmp_path), width=16, height=16)
    table = ProgramTable(spec)
    first = render_samples(table, renderer, np.arange(200))
    again = render_samples(table, renderer, np.arange(200))
    assert sum(first.rejected.values()) > 30           # ~35% of draws are constant
    assert QualityFilter().accept(first.images, np.zeros(200)).all()
    assert (first.attempt > 0).any()
    np.testing.assert_array_equal(first.images, again.images)
    np.testing.assert_array_equal(first.params, again.params)
    # A replaced sample is the same whether rendered alone or inside the shard.
    j = int(np.flatnonzero(first.attempt > 0)[0])
    alone = render_samples(table, renderer, np.array([j]))
    np.testing.assert_array_equal(alone.images[0], first.images[j])
    assert alone.attempt[0] == first.attempt[j]
