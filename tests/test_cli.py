"""The `unnatural` CLI: help, bad input (exit 2, one line naming value and range), shaders tools."""
from __future__ import annotations

import json

import pytest
from PIL import Image

from tests.conftest import HALF_CONSTANT, run_cli


def test_help_explains_every_option():
    out = run_cli("render", "--help").stdout
    for option in ("--out", "--images", "--size", "--format", "--seed", "--workers", "--spec", "--resume"):
        assert option in out


@pytest.mark.parametrize("args, needle", [
    (["--size", "0"], "'0' out of range: allowed 8..1024"),
    (["--size", "4096"], "allowed 8..1024"),
    (["--images", "-3"], "--images -3 out of range: allowed 1.."),
    (["--format", "gif"], "invalid choice: 'gif'"),
    (["--families", "sparkles"], "family 'sparkles' is unknown"),
    (["--workers", "0"], "--workers 0 out of range"),
    (["--time-range", "5"], "--time-range '5' is not MIN,MAX"),
])
def test_bad_values_exit_2_with_one_line(tmp_path, args, needle):
    result = run_cli("render", "--out", str(tmp_path / "o"), *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr
    assert not (tmp_path / "o").exists()


def test_unwritable_directory_exits_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_cli("render", "--out", str(blocker / "sub"), "--images", "4", "--families", "plasma")
    assert result.returncode == 2 and "not writable" in result.stderr


def test_bad_spec_file_exits_2(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"seed": 1, "width": 5000}))
    result = run_cli("render", "--out", str(tmp_path / "o"), "--spec", str(spec))
    assert result.returncode == 2 and "width 5000 is invalid: allowed 8..1024" in result.stderr


def test_spec_file_with_flag_override(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("images: 6\nimages_per_shard: 4\nwidth: 16\nheight: 16\nmix: {plasma: 1.0}\nname: tiny\n")
    result = run_cli("render", "--out", str(tmp_path / "o"), "--spec", str(spec), "--format", "npy",
                     "--workers", "1", "--no-progress")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["spec"]["format"] == "npy" and [s["name"] for s in manifest["shards"]] == [
        "tiny-000000.tar", "tiny-000001.tar"]


def test_shaders_list():
    result = run_cli("shaders", "list", "--json")
    families = json.loads(result.stdout)
    assert len(families) >= 24 and all(f["summary"] and f["params"] for f in families)
    assert [f["cls"] for f in families] == list(range(len(families)))


def test_check_rejects_user_shaders_with_reasons(tmp_path):
    (tmp_path / "good.glsl").write_text(HALF_CONSTANT)
    (tmp_path / "texture.frag").write_text(
        "void mainImage(out vec4 c, in vec2 p) { c = texture(iChannel0, p / iResolution.xy); }")
    (tmp_path / "typo.glsl").write_text("void mainImage(out vec4 c, in vec2 p) { c = vec4(p, 0.0); oops }")
    (tmp_path / "flat.glsl").write_text("void mainImage(out vec4 c, in vec2 p) { c = vec4(0.3, 0.3, 0.3, 1.0); }")
    (tmp_path / "nan.glsl").write_text(
        "void mainImage(out vec4 c, in vec2 p) { float z = iTime - iTime; c = vec4(vec3(z / z), 1.0); }")
    (tmp_path / "nomain.glsl").write_text("void main() {}")
    (tmp_path / "notes.txt").write_text("ignored")
    result = run_cli("shaders", "check", str(tmp_path), "--json")
    assert result.returncode == 1
    reports = {r["program_id"]: r for r in json.loads(result.stdout)}
    assert set(reports) == {f"user/{n}" for n in ("good.glsl", "texture.frag", "typo.glsl", "flat.glsl",
                                                    "nan.glsl", "nomain.glsl")}
    assert reports["user/good.glsl"]["status"] == "ok"
    assert "iChannel0" in reports["user/texture.frag"]["reason"]
    assert reports["user/typo.glsl"]["reason"].startswith("compile error")
    assert "near-constant" in reports["user/flat.glsl"]["reason"]
    assert "NaN/Inf" in reports["user/nan.glsl"]["reason"]
    assert "no `void mainImage" in reports["user/nomain.glsl"]["reason"]


def test_preview_writes_contact_sheet(tmp_path):
    out = tmp_path / "sheet.png"
    result = run_cli("shaders", "preview", "--out", str(out), "--families", "plasma,rings", "--composed", "1",
                     "--size", "32", "--columns", "4")
    assert result.returncode == 0, result.stderr
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size == (150 + 4 * 34, 3 * 34)
