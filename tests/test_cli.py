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


@pytest.fixture()
def tiny_filesystem(tmp_path):
    """A real 256 KiB tmpfs (root only); skips where mounting is not permitted."""
    import subprocess

    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_full_disk_exits_4_with_one_line_and_loses_nothing(tiny_filesystem):
    import subprocess

    out = tiny_filesystem / "out"
    # npy shards of 20 images at 32 px take ~130 KiB: the first fits, the second does not
    args = ("render", "--out", str(out), "--images", "100", "--size", "32", "--format", "npy",
            "--images-per-shard", "20", "--families", "plasma", "--workers", "1", "--no-progress")
    result = run_cli(*args)
    assert result.returncode == 4, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(out) in lines[0] and "KiB free" in lines[0], result.stderr
    first = (out / "unnatural-000000.tar").read_bytes()
    assert [p.name for p in out.glob("*.tar")] == ["unnatural-000000.tar"], "only finished shards stay"
    subprocess.run(["mount", "-o", "remount,size=4m", str(tiny_filesystem)], check=True)
    resumed = run_cli(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["shards"]) == 5 and (out / "unnatural-000000.tar").read_bytes() == first


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


# A mainImage that draws a varied image from a helper the folder's common.glsl may provide.
GRADIENT = """
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.xy;
    fragColor = vec4(tint(uv.x * 6.2831 * (1.0 + iParams[1].x) + iTime) * uv.y, 1.0);
}
"""
TINT = "vec3 tint(float t) { return 0.5 + 0.5 * cos(t + vec3(0.0, 2.0, 4.0)); }\n"


def test_check_loads_shaders_as_shadertoy_exports_them(tmp_path):
    """Standalone exports (own main, #version, outputs, redeclared uniforms, #ifdef guards) and a
    common.glsl load; only real texture sampling is rejected; compile logs keep the file's lines."""
    (tmp_path / "common.glsl").write_text("// Common tab: texture(iChannel0, uv) in a comment samples nothing\n" + TINT)
    (tmp_path / "standalone.glsl").write_text(
        "#version 300 es\nprecision highp float;\n"
        "uniform vec3 iResolution;\nuniform highp float iTime;\nuniform vec4 iMouse;\n"
        "uniform vec3 iChannelResolution[4];\nuniform float iChannelTime[4], myGain;\n"
        "uniform sampler2D iChannel0;   // declared, never sampled\n"
        "out vec4 shadertoyColor;\n" + GRADIENT +
        "void main(void) {\n    mainImage(shadertoyColor, gl_FragCoord.xy);\n}\n")
    (tmp_path / "guarded.frag").write_text(
        "#define STANDALONE 1\n#ifdef GL_ES\nprecision mediump float;\n#endif\n" + GRADIENT +
        "#ifdef STANDALONE\nuniform float iTime;\n"
        "void main() { vec4 c; mainImage(c, gl_FragCoord.xy); gl_FragColor = c; }\n#endif\n")
    (tmp_path / "names_only.glsl").write_text(
        GRADIENT.replace("uv.y, 1.0)", "uv.y + 0.0 * (iChannelResolution[0].x + iChannelTime[1] + iSampleRate"
                                       " + iMouse.x + iDate.w + float(iFrame) + iTimeDelta), 1.0)"))
    (tmp_path / "samples.glsl").write_text(
        "uniform sampler2D iChannel1;\n" + GRADIENT.replace("uv.y, 1.0)", "texture(iChannel1, uv).r, 1.0)"))
    (tmp_path / "sampler.glsl").write_text(
        "uniform sampler2D noiseTex;\n" + GRADIENT.replace("uv.y, 1.0)", "texture2D(noiseTex, uv).r, 1.0)"))
    (tmp_path / "typo.glsl").write_text("#version 300 es\n// line 2\n/* line 3\n   line 4 */\n"
                                        "void mainImage(out vec4 c, in vec2 p) { c = vec4(p, 0.0); oops }\n")
    result = run_cli("shaders", "check", str(tmp_path), "--json")
    reports = {r["program_id"]: r for r in json.loads(result.stdout)}
    assert set(reports) == {f"user/{n}" for n in ("standalone.glsl", "guarded.frag", "names_only.glsl",
                                                    "samples.glsl", "sampler.glsl", "typo.glsl")}, result.stderr
    for name in ("standalone.glsl", "guarded.frag", "names_only.glsl"):
        assert reports[f"user/{name}"]["status"] == "ok", reports[f"user/{name}"]["reason"]
    assert "iChannel1" in reports["user/samples.glsl"]["reason"]
    assert "noiseTex" in reports["user/sampler.glsl"]["reason"]
    reason = reports["user/typo.glsl"]["reason"]
    assert reason.startswith("compile error") and "0:5(" in reason, reason


def test_common_glsl_that_samples_rejects_every_shader(tmp_path):
    (tmp_path / "common.glsl").write_text("vec3 tint(float t) { return texture(iChannel0, vec2(t)).rgb; }\n")
    (tmp_path / "a.glsl").write_text(GRADIENT)
    result = run_cli("shaders", "check", str(tmp_path), "--json")
    (report,) = json.loads(result.stdout)
    assert report["status"] == "rejected" and "common.glsl" in report["reason"] and "iChannel0" in report["reason"]


def test_preview_writes_contact_sheet(tmp_path):
    out = tmp_path / "sheet.png"
    result = run_cli("shaders", "preview", "--out", str(out), "--families", "plasma,rings", "--composed", "1",
                     "--size", "32", "--columns", "4")
    assert result.returncode == 0, result.stderr
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size == (150 + 4 * 34, 3 * 34)
