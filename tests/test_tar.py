"""Our ustar writer: byte for byte webdataset's TarWriter, read by tarfile, GNU tar and webdataset."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile

import numpy as np
import pytest
import webdataset as wds

from unnatural.generator.metadata import metadata_json
from unnatural.generator.sampling import ProgramTable
from unnatural.generator.shard import encode_samples, render_samples
from unnatural.generator.spec import COMPOSED, FORMATS, DatasetSpec
from unnatural.generator.tar import Records, headers, tar_archive, tar_end, tar_members

MIX = {"plasma": 1.0, "voronoi_cells": 1.0, "fbm_noise": 1.0, COMPOSED: 1.0}


def small_spec(**kw) -> DatasetSpec:
    return DatasetSpec(**{**dict(images=60, images_per_shard=30, width=24, height=16, mix=MIX,
                                 composed_programs=3, seed=11), **kw})


def tarwriter(records: Records) -> bytes:
    """What the shards were written with before our writer: webdataset's TarWriter."""
    buf = io.BytesIO()
    with wds.TarWriter(buf, encoder=False, mtime=0) as writer:
        for record in records.as_dicts():
            writer.write(record)
    return buf.getvalue()


@pytest.fixture(scope="module", params=FORMATS)
def shard(request, renderer) -> tuple[DatasetSpec, Records]:
    spec = small_spec(format=request.param)
    table = ProgramTable(spec)
    return spec, encode_samples(table, render_samples(table, renderer, np.arange(23)))


def test_shard_bytes_equal_tarwriter_for_every_format(shard):
    _, records = shard
    assert tar_archive(records) == tarwriter(records)


def test_members_of_chunks_concatenate_to_the_shard(shard):
    """The server streams a shard as chunks of members plus tar_end: same bytes as TarWriter."""
    _, records = shard
    whole = tarwriter(records)
    assert len(whole) % 10240 == 0
    for cuts in ([], [1], [7, 8], [5, 11, 22], list(range(1, 23))):
        edges = [0, *cuts, len(records)]
        members = b"".join(tar_members(records[a:b]) for a, b in zip(edges, edges[1:]))
        assert members + tar_end(len(members)) == whole


def test_streamed_chunks_of_a_virtual_shard_equal_tarwriter(renderer):
    """The chunks the server's render processes produce for a virtual shard (the chunk job of
    server.worker, over server.streaming's ranges), closed by tar_end, are TarWriter's shard."""
    from unnatural.server import streaming
    from unnatural.server.worker import _chunk, _Tables

    spec = small_spec(format="npy", images=90, images_per_shard=90)
    table = ProgramTable(spec)
    expected = tarwriter(encode_samples(table, render_samples(table, renderer, np.arange(90))))
    tables = _Tables()
    old = streaming.CHUNK_PIXELS
    streaming.CHUNK_PIXELS = 24 * 16 * 20          # 20 images per chunk: five chunks, the last short
    try:
        ranges = list(streaming.chunk_ranges(spec, 0, 90))
    finally:
        streaming.CHUNK_PIXELS = old
    assert len(ranges) == 5
    chunks = [_chunk(renderer, tables, {"spec": spec.to_dict(), "start": a, "stop": b})["tar"] for a, b in ranges]
    members = b"".join(chunks)
    assert members + tar_end(len(members)) == expected


@pytest.mark.parametrize("seed", range(8))
def test_arbitrary_records_equal_tarwriter(seed):
    """Sizes 0, block multiples and odd; field names in any order; keys of any length."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 12))
    names = rng.choice(["npy", "json", "cls", "jpg", "png", "seg.png", "x"], int(rng.integers(1, 5)), replace=False)
    sizes = [0, 1, 511, 512, 513, 1024, 3000]
    records = Records(
        keys=[f"k{int(i)}" * int(rng.integers(1, 6)) for i in rng.integers(0, 10**6, n)],
        fields={str(name): [rng.bytes(int(rng.choice(sizes))) for _ in range(n)] for name in names},
    )
    assert tar_archive(records) == tarwriter(records)


def test_stock_readers_read_it(shard, tmp_path):
    spec, records = shard
    path = tmp_path / "shard.tar"
    path.write_bytes(tar_archive(records))
    expected = [f"{key}.{name}" for key in records.keys for name in sorted(records.fields)]
    with tarfile.open(path) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == expected
        assert all(m.isfile() and m.mode == 0o444 and m.uname == "bigdata" and m.mtime == 0 for m in members)
        first = tar.extractfile(members[0]).read()
    assert first == bytes(records.fields["cls"][0])
    listed = subprocess.run(["tar", "-tf", str(path)], capture_output=True, text=True, check=True)
    assert listed.stdout.split() == expected
    samples = list(wds.WebDataset(str(path), shardshuffle=False).decode("rgb8"))
    assert [s["__key__"] for s in samples] == list(records.keys)
    assert samples[0][spec.format].shape == (16, 24, 3)
    assert samples[3]["json"]["index"] == 3


@pytest.mark.parametrize("names, sizes, needle", [
    ([b"x" * 101], [1], "1..100 ASCII"),
    ([b""], [1], "1..100 ASCII"),
    (["é".encode()], [1], "1..100 ASCII"),
    ([b"ok"], [8 ** 11], "out of range"),
    ([b"ok"], [-1], "out of range"),
])
def test_headers_refuse_what_would_need_pax(names, sizes, needle):
    with pytest.raises(ValueError, match=needle):
        headers(names, np.array(sizes))


def _reference_json(table: ProgramTable, j: int, indices, program, time, params, attempt, target) -> bytes:
    """The metadata as it was written before the batch templates: json.dumps of a dict."""
    prog = int(program[j])
    meta = {"index": int(indices[j]), "spec_hash": table.spec.spec_hash, "program_id": table.program_ids[prog],
            "family": table.family(prog), "cls": int(table.cls[prog]), "time": float(time[j]),
            "params": params[j].tolist(), "attempt": int(attempt[j])}
    if table.fitted_classes is not None:
        meta["fitted_class"] = int(target[j])
        meta["fitted_class_name"] = table.fitted_classes[int(target[j])]
    return json.dumps(meta, sort_keys=True).encode()


@pytest.mark.parametrize("fitted", [False, True])
def test_metadata_equals_json_dumps(fitted):
    from tests.test_sampling import fitted_section

    spec = DatasetSpec(fitted=fitted_section()) if fitted else small_spec()
    table = ProgramTable(spec)
    n = 200
    rng = np.random.default_rng(0)
    columns = (np.arange(10**9, 10**9 + n), rng.integers(0, len(table.program_ids), n),
               (rng.random(n) * 10).astype(np.float32), rng.random((n, 16)).astype(np.float32),
               rng.integers(0, 8, n), rng.integers(0, len(table.fitted_classes or [0]), n))
    columns[3][0, :4] = [np.nan, np.inf, -np.inf, 1e-7]   # json.dumps spells these its own way
    columns[3][1, :3] = [0.0, -0.0, 3e20]
    got = metadata_json(table, *columns)
    assert got == [_reference_json(table, j, *columns) for j in range(n)]


def test_render_process_imports_neither_webdataset_nor_torch(tmp_path):
    code = ("import sys, numpy as np\n"
            "from unnatural.generator.job import render_shards\n"
            "from unnatural.generator.render_process import start_render_process\n"
            "from unnatural.generator.sampling import ProgramTable\n"
            "from unnatural.generator.spec import DatasetSpec\n"
            "table = ProgramTable(DatasetSpec(images=20, images_per_shard=10, width=16, height=16))\n"
            "result = render_shards(table, start_render_process(None, None, True), [0, 1])\n"
            "assert len(result) == 2 and result[0]['tar']\n"
            "print(sorted(m for m in ('torch', 'webdataset') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
