"""Shards on disk: stock webdataset reads them back; bytes are a pure function of (spec, k)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import webdataset as wds

from unnatural.generator.files import sha256_file
from unnatural.generator.job import JobError, _remove_temporaries, render_dataset, run_pool
from unnatural.generator.sampling import ProgramTable
from unnatural.generator.spec import COMPOSED, DatasetSpec

MIX = {"plasma": 1.0, "voronoi_cells": 1.0, "fbm_noise": 1.0, COMPOSED: 1.0}


def small_spec(**kw) -> DatasetSpec:
    base = dict(images=90, images_per_shard=40, width=24, height=16, mix=MIX, composed_programs=3, seed=11)
    base.update(kw)
    return DatasetSpec(**base)


@pytest.mark.parametrize("fmt", ["png", "jpg", "webp", "npy"])
def test_webdataset_reads_every_sample(tmp_path, fmt):
    spec = small_spec(format=fmt)
    manifest = render_dataset(spec, tmp_path, workers=2, progress=False)
    assert manifest["complete"] and [s["samples"] for s in manifest["shards"]] == [40, 40, 10]
    url = str(tmp_path / "unnatural-{000000..000002}.tar")
    samples = list(wds.WebDataset(url, shardshuffle=False).decode("rgb8"))
    assert [s["__key__"] for s in samples] == [f"{i:010d}" for i in range(90)]
    for s in samples:
        image = s[fmt]
        assert image.shape == (16, 24, 3) and image.dtype == np.uint8
        meta = s["json"]
        assert meta["spec_hash"] == spec.spec_hash and meta["index"] == int(s["__key__"])
        assert s["cls"] == meta["cls"] == manifest["classes"].index(meta["family"])
        assert len(meta["params"]) == 16 and 0.1 <= meta["time"] <= 10
    assert {s["json"]["family"] for s in samples} == {"plasma", "voronoi_cells", "fbm_noise", COMPOSED}
    for entry in manifest["shards"]:
        assert sha256_file(tmp_path / entry["name"]) == entry["sha256"]
    assert not list(tmp_path.glob(".*tmp*"))


def test_lossless_formats_agree(tmp_path):
    png = render_dataset(small_spec(format="png"), tmp_path / "png", workers=1, progress=False)
    npy = render_dataset(small_spec(format="npy"), tmp_path / "npy", workers=1, progress=False)
    a = [s["png"] for s in wds.WebDataset(str(tmp_path / "png" / "unnatural-000000.tar"), shardshuffle=False).decode("rgb8")]
    b = [s["npy"] for s in wds.WebDataset(str(tmp_path / "npy" / "unnatural-000000.tar"), shardshuffle=False).decode()]
    np.testing.assert_array_equal(np.stack(a), np.stack(b))
    assert png["rejected"] == npy["rejected"]


def test_two_runs_give_identical_bytes(tmp_path):
    spec = small_spec()
    a = render_dataset(spec, tmp_path / "a", workers=2, progress=False)
    b = render_dataset(spec, tmp_path / "b", workers=1, progress=False)
    assert [s["sha256"] for s in a["shards"]] == [s["sha256"] for s in b["shards"]]
    for name in ("unnatural-000000.tar", "unnatural-000002.tar"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_pool_workers_write_their_own_shards(tmp_path):
    # Local workers write shards and send only manifest fields; the bytes equal those a runner
    # returns to the parent (the Ray path).
    spec = small_spec()
    table = ProgramTable(spec)
    written = sorted((r for _, rs in run_pool(table, [0, 1, 2], 2, out=tmp_path) for r in rs), key=lambda r: r["index"])
    assert [r["index"] for r in written] == [0, 1, 2] and all("tar" not in r for r in written)
    returned = sorted((r for _, rs in run_pool(table, [0, 1, 2], 1) for r in rs), key=lambda r: r["index"])
    for w, r in zip(written, returned):
        path = tmp_path / w["name"]
        assert path.read_bytes() == r["tar"] and path.stat().st_size == w["bytes"] and sha256_file(path) == w["sha256"]
        assert (w["samples"], w["rejected"]) == (r["samples"], r["rejected"])
    assert not list(tmp_path.glob(".*tmp*"))


def test_removing_temporaries_spares_other_shards_and_files(tmp_path):
    spec = small_spec()
    names = [f".{spec.shard_name(k)}.tmp-1-ab" for k in range(4)] + [".manifest.json.tmp-1-cd", ".other.json.tmp-2-ef"]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    _remove_temporaries(tmp_path, spec, {1, 3}, ("manifest.json",))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([names[0], names[2], names[5]])


def test_existing_dataset_needs_resume(tmp_path):
    spec = small_spec(images=10)
    render_dataset(spec, tmp_path, workers=1, progress=False)
    with pytest.raises(JobError, match="--resume"):
        render_dataset(spec, tmp_path, workers=1, progress=False)
    with pytest.raises(JobError, match="different spec"):
        render_dataset(spec.replace(seed=99), tmp_path, workers=1, progress=False, resume=True)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["complete"] and manifest["spec_hash"] == spec.spec_hash
