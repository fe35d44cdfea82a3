"""Specs and sampling: sample i is a pure function of (spec, i); validation names bad values."""
from __future__ import annotations

import json
import re

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


# -- fitted specs ----------------------------------------------------------------------------
def fitted_program(program: str, weight: float = 1.0, mean: float = 0.5, std: float = 0.2) -> dict:
    return {"program": program, "weight": weight, "mean": [mean] * 17, "std": [std] * 17}


def fitted_section() -> dict:
    return {"teacher": "sha256:0123456789abcdef", "classes": [
        {"name": "zero", "weight": 1, "programs": [fitted_program("plasma", 1, 0.2, 0.05),
                                                   fitted_program("composed-00001234", 3, 0.9, 0.01)]},
        {"name": "one", "weight": 3, "programs": [fitted_program("plasma", 1, 0.5, 10)]}]}


def test_plain_spec_keeps_its_canonical_json():
    """A spec without ``fitted`` hashes as before the section existed (recorded then)."""
    spec = DatasetSpec(seed=3, mix={"plasma": 1, COMPOSED: 2}, composed_programs=5)
    assert "fitted" not in spec.to_dict() and "fitted" not in spec.canonical_json()
    assert spec.spec_hash == "b2edf3fcc619f8a1"
    assert DatasetSpec.from_dict({**spec.to_dict(), "fitted": None}) == spec


def test_fitted_spec_normalises_numbers_and_round_trips(tmp_path):
    spec = DatasetSpec(fitted=fitted_section())
    assert spec.fitted["classes"][0]["weight"] == 1.0 and isinstance(spec.fitted["classes"][0]["weight"], float)
    assert all(isinstance(v, float) for v in spec.fitted["classes"][1]["programs"][0]["std"])
    floats = json.loads(json.dumps(fitted_section()).replace('"weight": 1,', '"weight": 1.0,'))
    assert DatasetSpec(fitted=floats).spec_hash == spec.spec_hash != DatasetSpec().spec_hash
    path = tmp_path / "fitted.json"
    path.write_text(json.dumps(spec.to_dict()))
    assert DatasetSpec.load(path) == spec


@pytest.mark.parametrize("change, path, message", [
    (lambda f: f.update(classes=[]), "fitted.classes", "1..100000 classes"),
    (lambda f: f.update(extra=1), "fitted", "unknown key(s) extra"),
    (lambda f: f["classes"][0].pop("name"), "fitted.classes[0]", "lacks name"),
    (lambda f: f["classes"][1].update(weight=-1.0), "fitted.classes[1].weight", "finite numbers >= 0"),
    (lambda f: f["classes"][1].update(weight=float("inf")), "fitted.classes[1].weight", "finite numbers >= 0"),
    (lambda f: [c.update(weight=0.0) for c in f["classes"]], "fitted.classes weights", "sum to 0"),
    (lambda f: f["classes"][0]["programs"][1].update(program="nope"), "fitted.classes[0].programs[1].program",
     "a family"),
    (lambda f: f["classes"][0]["programs"][1].update(program="composed-1"), "fitted.classes[0].programs[1].program",
     "composed"),
    (lambda f: f["classes"][0]["programs"][1].update(program="composed-2147483648"),
     "fitted.classes[0].programs[1].program", "0..2147483647"),
    (lambda f: f["classes"][0]["programs"][1].update(program="plasma"), "fitted.classes[0].programs[1].program",
     "each program once per class"),
    (lambda f: f["classes"][0]["programs"][0].update(program="user/a.glsl"), "fitted.classes[0].programs[0].program",
     "only with user_dir"),
    (lambda f: f["classes"][0]["programs"][0]["std"].__setitem__(5, 0.0), "fitted.classes[0].programs[0].std[5]",
     "0.001..10"),
    (lambda f: f["classes"][0]["programs"][0]["mean"].__setitem__(0, 1.5), "fitted.classes[0].programs[0].mean[0]",
     "0..1"),
    (lambda f: f["classes"][0]["programs"][0]["mean"].__setitem__(3, float("nan")),
     "fitted.classes[0].programs[0].mean[3]", "finite numbers"),
    (lambda f: f["classes"][0]["programs"][0].update(mean=[0.5] * 16), "fitted.classes[0].programs[0].mean",
     "has 16 values: allowed a list of 17"),
    (lambda f: f["classes"][0]["programs"][0].update(colour=1), "fitted.classes[0].programs[0]", "unknown key(s)"),
    (lambda f: [p.update(weight=0.0) for p in f["classes"][0]["programs"]], "fitted.classes[0].programs weights",
     "sum to 0"),
    (lambda f: f["classes"][0].update(programs=[]), "fitted.classes[0].programs", "1..10000 programs"),
    (lambda f: f.update(teacher=""), "fitted.teacher", "1..200 characters"),
])
def test_fitted_validation_names_path_value_and_range(change, path, message):
    fitted = fitted_section()
    change(fitted)
    with pytest.raises(SpecError, match=re.escape(message)) as info:
        DatasetSpec(fitted=fitted)
    assert info.value.field == "fitted" and str(info.value).startswith(path)


def test_fitted_draw_follows_the_weights_and_distributions():
    from scipy.stats import truncnorm

    table = ProgramTable(DatasetSpec(seed=4, fitted=fitted_section()))
    assert table.program_ids == ["plasma", "composed-00001234"] and table.fitted_classes == ["zero", "one"]
    assert [table.family(p) for p in range(2)] == ["plasma", COMPOSED]
    n = 60000
    draw = table.draw(np.arange(n))
    assert draw.target.dtype == np.int64 and draw.params.dtype == np.float32 and draw.params.shape == (n, 16)
    assert abs((draw.target == 1).mean() - 0.75) < 0.01
    zero = draw.target == 0
    assert abs((draw.program[zero] == 1).mean() - 0.75) < 0.015 and (draw.program[~zero] == 0).all()
    assert draw.params.min() >= 0 and draw.params.max() < 1 and ((draw.time >= 0.1) & (draw.time <= 10)).all()
    for sel, mean, std in ((zero & (draw.program == 0), 0.2, 0.05), (zero & (draw.program == 1), 0.9, 0.01),
                           (~zero, 0.5, 10.0)):
        law = truncnorm((0 - mean) / std, (1 - mean) / std, loc=mean, scale=std)
        assert abs(draw.params[sel].mean() - law.mean()) < 0.01, (mean, std)
        assert abs(draw.params[sel].std() - law.std()) < 0.01, (mean, std)
        t = (draw.time[sel] - 0.1) / 9.9
        assert abs(t.mean() - law.mean()) < 0.01
    # a pure function of (spec, index); a replacement keeps the target class
    part = table.draw(np.arange(30000, 31000))
    np.testing.assert_array_equal(part.params, draw.params[30000:31000])
    np.testing.assert_array_equal(part.target, draw.target[30000:31000])
    again = table.draw(np.arange(1000), attempt=1)
    np.testing.assert_array_equal(again.target, draw.target[:1000])
    assert not np.array_equal(again.params, draw.params[:1000])
    assert ProgramTable(DatasetSpec(seed=4)).draw(np.arange(10)).target is None
