"""The package layout (docs/DESIGN.md "Layout", "Layers"): one ``unnatural`` namespace that a
user's own ``server.py`` cannot shadow, layers checked by import-linter, specs readable without
moderngl, and the shard bytes of a fixed spec unchanged by the move into the namespace."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import ROOT

SHADOWS = ("server", "generator", "distill", "shaders")


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_user_modules_named_like_the_packages_do_not_shadow_them(tmp_path):
    for name in SHADOWS:
        (tmp_path / f"{name}.py").write_text(f"raise SystemExit('the user module {name}.py was imported')\n")
    # this interpreter's own console script first: a stale `unnatural` elsewhere on PATH (another
    # interpreter's install) would test that install instead
    own = Path(sys.executable).with_name("unnatural")
    unnatural = str(own) if own.exists() else shutil.which("unnatural")
    render = subprocess.run([unnatural, "render", "--out", "out", "--images", "8", "--size", "8", "--format", "npy",
                             "--workers", "1", "--no-progress"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert render.returncode == 0, render.stderr
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["samples"] == 8
    for code in ("import unnatural.server.app", "import unnatural.distill.remote", "import unnatural.generator.job"):
        done = _python(code, tmp_path)
        assert done.returncode == 0, done.stderr
    main = subprocess.run([sys.executable, "-m", "unnatural", "--help"], cwd=tmp_path, capture_output=True, text=True)
    assert main.returncode == 0 and "render" in main.stdout


def test_site_packages_has_no_top_level_project_modules(tmp_path):
    site = Path(sysconfig.get_paths()["purelib"])
    for name in SHADOWS:
        assert not (site / name).exists() and not (site / f"{name}.py").exists(), name
    # ...and none is importable from a folder that does not hold the repository
    probe = _python(f"import importlib.util as u; print([n for n in {SHADOWS!r} if u.find_spec(n)])", tmp_path)
    assert probe.returncode == 0 and probe.stdout.strip() == "[]", probe.stdout + probe.stderr


def test_import_layers_hold():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    done = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 kept, 0 broken" in done.stdout


def test_distill_library_does_not_import_the_studies():
    """docs/DESIGN.md "Layers": ``unnatural.distill.studies`` sits above the library; only the
    command module ``unnatural.distill.cli`` imports both."""
    import grimp

    graph = grimp.build_graph("unnatural", cache_dir=None)
    studies = "unnatural.distill.studies"
    library = graph.find_children("unnatural.distill") - {studies, "unnatural.distill.cli"}
    assert {"unnatural.distill.kd", "unnatural.distill.bn", "unnatural.distill.quant"} <= library
    offenders = {m: sorted(i for i in graph.find_modules_directly_imported_by(m) if i.startswith(studies))
                 for m in sorted(library)}
    assert not any(offenders.values()), offenders


def test_every_package_folder_is_listed_for_installation():
    """``[tool.setuptools] packages`` is explicit: a subpackage missing there is missing from a
    non-editable install."""
    tomllib = pytest.importorskip("tomllib")
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed, dirs = set(setuptools["packages"]), setuptools["package-dir"]
    for package, folder in dirs.items():
        if package == "unnatural":
            continue
        for init in (ROOT / folder).rglob("__init__.py"):
            name = ".".join([package, *init.parent.relative_to(ROOT / folder).parts])
            assert name in listed, f"{name} ({init.parent}) is not in pyproject.toml's packages"


def test_spec_reads_without_moderngl(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: nogl\nimages: 5\nwidth: 16\nheight: 16\n")
    code = ("import sys; sys.modules['moderngl'] = None\n"
            "from unnatural.generator.spec import DatasetSpec\n"
            f"print(DatasetSpec.load({str(spec)!r}).spec_hash)\n"
            "from unnatural.generator.args import parse_size; print(parse_size('16x8'))\n"
            "assert 'unnatural.generator.renderer' not in sys.modules\n")
    done = _python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] and "(16, 8)" in done.stdout


# sha256 of the shards of the default spec with 50 images, 25 per shard, rendered on Mesa
# llvmpipe before the packages moved under `unnatural.` (spec_hash b011e8e89c164f55).
RECORDED = {"unnatural-000000.tar": "89130f2fd65f634d67ef74cff0074a4b1b89d189e936f3b39f94ed78ff076777",
            "unnatural-000001.tar": "81033e91bed2d1c40e28878dc23e1a12b4c141eafd573a3367ca0773d608dac3"}


def test_shard_bytes_match_the_recording_made_before_the_move(tmp_path, renderer):
    from unnatural.generator.job import render_dataset
    from unnatural.generator.spec import DatasetSpec

    if "llvmpipe" not in renderer.ctx.info["GL_RENDERER"].lower():
        pytest.skip("the recorded bytes are Mesa llvmpipe's; another GL renders other pixels")
    manifest = render_dataset(DatasetSpec(images=50, images_per_shard=25), tmp_path, workers=1, progress=False)
    assert manifest["spec_hash"] == "b011e8e89c164f55"
    assert {s["name"]: s["sha256"] for s in manifest["shards"]} == RECORDED
