"""Specs and sampling: sample i is a pure function of (spec, i); validation names bad values."""
from __future__ import annotations

import json

import numpy as np
import pytest

from unnatural.generator.sampling import ProgramTable, uniforms
from unnatural.generator.spec import COMPOSED, DatasetSpec, SpecError


def test_uniforms_are_pure_and_in_range():
    idx = np.arange(1000)
    u = uniforms(7, idx, 0, 18)
    assert u.shape == (1000, 18) and u.min() >= 0 and u.max() < 1
    perm = np.random.default_rng(0).permutation(1000)
    np.testing.assert_array_equal(uniforms(7, idx[perm], 0, 18), u[perm])
    assert not np.array_equal(uniforms(8, idx, 0, 18), u)
    assert not np.array_equal(uniforms(7, idx, 1, 18), u)
    assert abs(u.mean() - 0.5) < 0.01 and abs(np.corrcoef(u[:, 0], u[:, 1])[0, 1]) < 0.1


def test_draw_is_a_function_of_spec_and_index():
    table = ProgramTable(DatasetSpec(seed=3, composed_programs=16))
    a = table.draw(np.arange(0, 500))
    b = table.draw(np.arange(250, 750))
    np.testing.assert_array_equal(a.program[250:], b.program[:250])
    np.testing.assert_array_equal(a.params[250:], b.params[:250])
    assert a.params.dtype == np.float32 and a.params.shape == (500, 16) and a.params.max() < 1
    assert ((a.time >= 0.1) & (a.time <= 10)).all()


def test_mix_weights_are_respected():
    spec = DatasetSpec(mix={"plasma": 3.0, "rings": 1.0, COMPOSED: 4.0}, composed_programs=8)
    table = ProgramTable(spec)
    draw = table.draw(np.arange(40000))
    fams = np.array([table.family(p) for p in draw.program])
    assert abs((fams == "plasma").mean() - 3 / 8) < 0.015
    assert abs((fams == "rings").mean() - 1 / 8) < 0.015
    assert abs((fams == COMPOSED).mean() - 4 / 8) < 0.015
    assert len({table.program_ids[p] for p in draw.program if table.family(p) == COMPOSED}) == 8


def test_spec_round_trip_and_hash(tmp_path):
    spec = DatasetSpec(seed=5, width=48, height=40, format="jpg", images=123)
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec.to_dict()))
    again = DatasetSpec.load(path)
    assert again == spec and again.spec_hash == spec.spec_hash
    yaml_path = tmp_path / "spec.yaml"
    yaml_path.write_text("seed: 5\nwidth: 48\nheight: 40\nformat: jpg\nimages: 123\n")
    assert DatasetSpec.load(yaml_path).spec_hash == spec.spec_hash
    assert DatasetSpec(time_min=1, time_max=2).spec_hash == DatasetSpec(time_min=1.0, time_max=2.0).spec_hash
    assert spec.replace(seed=6).spec_hash != spec.spec_hash


@pytest.mark.parametrize("field, value, message", [
    ("width", 0, "allowed 8..1024"),
    ("height", 4096, "allowed 8..1024"),
    ("images", -5, "allowed 1.."),
    ("format", "gif", "png | jpg | webp | npy"),
    ("quality", 101, "1..100"),
    ("name", "a.b", "no dots"),
    ("name", "abc\n", "no dots"),
    ("name", "ab\x00c", "no dots"),
    ("mix", {"plasma": 1e308, "fbm_noise": 1e308}, "sum to infinity"),
    ("mix", {"plasma": float("nan")}, "finite"),
    ("mix", {"nope": 1.0}, "unknown"),
    ("mix", {"plasma": -1.0}, ">= 0"),
    ("time_min", 20.0, "<= time_max"),
])
def test_spec_validation_names_value_and_range(field, value, message):
    with pytest.raises(SpecError, match=message):
        DatasetSpec(**{field: value})


def test_unknown_spec_field():
    with pytest.raises(SpecError, match="unknown spec field"):
        DatasetSpec.from_dict({"seed": 1, "colour": "red"})


def test_shard_ranges():
    spec = DatasetSpec(images=2500, images_per_shard=1000)
    assert spec.num_shards == 3 and spec.shard_range(2) == range(2000, 2500)
    with pytest.raises(IndexError, match="allowed 0..2"):
        spec.shard_range(3)
