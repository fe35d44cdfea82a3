"""Scale-out of `unnatural render`: `--part I/N` pods sharing one folder, then one `--resume`;
`--ray` on a real local Ray instance. Both must end with the bytes of a plain local render."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

# 7 shards of 20 images: 3 parts hold shards 0-2, 3-4 and 5-6.
ARGS = ["--images", "140", "--images-per-shard", "20", "--size", "16", "--format", "npy", "--seed", "3",
        "--families", "plasma,fbm_noise", "--composed-programs", "2", "--no-progress"]
PARTS = {0: [0, 1, 2], 1: [3, 4], 2: [5, 6]}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The dataset of a plain local render of ARGS."""
    out = tmp_path_factory.mktemp("reference")
    result = run_cli("render", "--out", str(out), *ARGS, "--workers", "2")
    assert result.returncode == 0, result.stderr
    return out


def _assert_same_dataset(out: Path, reference: Path) -> None:
    assert (out / "manifest.json").read_bytes() == (reference / "manifest.json").read_bytes()
    shards = sorted(p.name for p in reference.glob("*.tar"))
    assert sorted(p.name for p in out.glob("*.tar")) == shards and len(shards) == 7
    for name in shards:
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name


def _stats(out: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime) per shard: a rewrite (a new file renamed into place) changes both."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob("*.tar")}


@pytest.mark.slow
def test_parts_on_a_shared_folder_then_resume_equal_a_local_render(tmp_path, reference):
    out = tmp_path / "shared"
    # The parts run at once on one folder, as the pods of a Kubernetes Indexed Job would.
    procs = [subprocess.Popen([sys.executable, "-m", "unnatural", "render", "--out", str(out), *ARGS,
                               "--workers", "1", "--part", f"{i}/3"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in PARTS]
    for i, proc in enumerate(procs):
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
        assert stdout.startswith(f"part {i}/3: {20 * len(PARTS[i])} images in {len(PARTS[i])} shards")
    assert not (out / "manifest.json").exists()
    for i, shards in PARTS.items():
        manifest = json.loads((out / f"manifest-part-{i:06d}-of-000003.json").read_text())
        assert manifest["complete"] and [s["index"] for s in manifest["shards"]] == shards
        assert manifest["part"] == {"index": i, "count": 3, "shards": [shards[0], shards[-1] + 1]}

    # A part resumes on its own: it renders its missing shard and leaves the rest alone.
    again = run_cli("render", "--out", str(out), *ARGS, "--workers", "1", "--part", "1/3")
    assert again.returncode == 2 and "already holds a dataset (manifest-part-000001-of-000003.json)" in again.stderr
    (out / "unnatural-000004.tar").unlink()
    before = _stats(out)
    resumed = run_cli("render", "--out", str(out), *ARGS, "--workers", "1", "--part", "1/3", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert _stats(out) == {**before, "unnatural-000004.tar": _stats(out)["unnatural-000004.tar"]}

    # The full resume finds every shard in the part manifests: it renders nothing, writes manifest.json.
    before = _stats(out)
    final = run_cli("render", "--out", str(out), *ARGS, "--resume")
    assert final.returncode == 0, final.stderr
    assert final.stdout.startswith("140 images in 7 shards")
    assert _stats(out) == before
    _assert_same_dataset(out, reference)


@pytest.mark.parametrize("part, needle", [
    ("3/3", "--part '3/3' out of range: allowed 0 <= I < N"),
    ("0/0", "--part '0/0' out of range"),
    ("1", "--part '1' is not I/N"),
    ("a/b", "--part 'a/b' is not I/N"),
    ("0/8", "--part 0/8 out of range: the spec has 7 shards, allowed N 1..7"),
])
def test_bad_part_exits_2_naming_the_value(tmp_path, part, needle):
    result = run_cli("render", "--out", str(tmp_path / "o"), *ARGS, "--part", part)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr
    assert not (tmp_path / "o").exists()


def test_ray_usage_errors(tmp_path):
    both = run_cli("render", "--out", str(tmp_path / "o"), *ARGS, "--ray", "--part", "0/2")
    assert both.returncode == 2 and "--ray and --part cannot be combined" in both.stderr
    # Without ray installed (hidden from the import system), --ray says how to get it.
    code = ("import sys; sys.modules['ray'] = None; from unnatural.cli import main; "
            f"sys.exit(main(['render', '--out', {str(tmp_path / 'o')!r}, '--ray']))")
    missing = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "pip install 'unnatural[ray]'" in missing.stderr
    assert not (tmp_path / "o").exists()


@pytest.fixture
def ray_env():
    """Environment for a CLI run that starts its own local Ray instance: no RAY_ADDRESS (it would
    attach elsewhere) and a private Ray temp folder, short enough for Ray's Unix socket paths."""
    folder = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["RAY_TMPDIR"] = folder
    yield env
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_ray_render_and_resume_equal_a_local_render(tmp_path, reference, ray_env):
    pytest.importorskip("ray")
    out = tmp_path / "ray"
    first = run_cli("render", "--out", str(out), *ARGS, "--ray", "--workers", "2", env=ray_env)
    assert first.returncode == 0, first.stderr
    _assert_same_dataset(out, reference)
    (out / "unnatural-000002.tar").unlink()
    before = _stats(out)
    again = run_cli("render", "--out", str(out), *ARGS, "--ray", "--resume", "--workers", "2", env=ray_env)
    assert again.returncode == 0, again.stderr
    after = _stats(out)
    assert {k: v for k, v in after.items() if k != "unnatural-000002.tar"} == before
    _assert_same_dataset(out, reference)
