"""Batched renderer on a real EGL context: tiled == one-per-draw, orientation, errors, NaN flag."""
from __future__ import annotations

import numpy as np
import pytest

from unnatural.generator.program import ProgramSource
from unnatural.generator.renderer import ShaderCompileError
from unnatural.shaders import family_names, family_source

GRADIENT = ProgramSource("test/gradient", "test", """
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    fragColor = vec4(fragCoord / iResolution.xy, iParams[0].x, 1.0);
}""")


@pytest.mark.parametrize("size", [(32, 32), (17, 9), (64, 40), (8, 8)])
@pytest.mark.parametrize("family", ["fbm_noise", "sdf_raymarch", "voronoi_cells", "mandelbrot"])
def test_tiled_equals_single_draws(renderer, rng, family, size):
    program = ProgramSource(family, family, family_source(family))
    times = rng.uniform(0.1, 10, 37).astype(np.float32)
    params = rng.random((37, 16), dtype=np.float32)
    tiled, bad_tiled = renderer.render(program, times, params, size)
    single, bad_single = renderer.render(program, times, params, size, tiled=False)
    assert tiled.shape == (37, size[1], size[0], 3) and tiled.dtype == np.uint8
    np.testing.assert_array_equal(tiled, single)
    np.testing.assert_array_equal(bad_tiled, bad_single)


def test_many_atlas_pages_equal_single(renderer, rng):
    # A 1100 px atlas holds 3x3 tiles of 300 px: 20 images take three draws (atlas pages).
    from unnatural.generator.renderer import Renderer

    small = Renderer(renderer.ctx, max_atlas=1100)
    times, params = rng.uniform(0, 10, 20), rng.random((20, 16))
    a, _ = small.render(GRADIENT, times, params, (300, 300))
    b, _ = renderer.render(GRADIENT, times, params, (300, 300), tiled=False)
    np.testing.assert_array_equal(a, b)


def test_a_second_context_leaves_the_first_renderer_right(renderer, rng):
    # A second Renderer (a user-folder probe, a test's own) creates an EGL context that becomes
    # current; programs, buffers and atlas of the first were then addressed by name in the
    # second, and came out as other pictures (the server's chunk path did, after a user-folder
    # spec). Each renderer must make its own context current.
    from unnatural.generator.renderer import Renderer

    programs = [ProgramSource(f, f, family_source(f)) for f in family_names()[:3]]
    times, params = rng.uniform(0, 10, 12), rng.random((12, 16))
    before = [renderer.render(p, times, params, (16, 16))[0] for p in programs]
    other = Renderer()
    theirs = other.render(programs[1], times, params, (16, 16))[0]
    for program, image in zip(programs, before):
        np.testing.assert_array_equal(renderer.render(program, times, params, (16, 16))[0], image)
    np.testing.assert_array_equal(theirs, before[1])
    np.testing.assert_array_equal(other.render(programs[2], times, params, (16, 16))[0], before[2])


def test_rows_are_top_first_and_params_per_tile(renderer):
    params = np.zeros((3, 16), np.float32)
    params[:, 0] = [0.0, 0.5, 1.0]
    images, nonfinite = renderer.render(GRADIENT, np.zeros(3), params, (16, 8))
    # fragCoord.y grows upwards in GL; image row 0 is the top, so green is high there.
    assert images[0, 0, 0, 1] > 200 and images[0, -1, 0, 1] < 40
    assert images[0, 0, 0, 0] < 40 and images[0, 0, -1, 0] > 200
    np.testing.assert_array_equal(images[:, 3, 3, 2], [0, 128, 255])
    assert not nonfinite.any()


def test_nonfinite_pixels_are_flagged(renderer):
    nan = ProgramSource("test/nan", "test", """
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    float z = iParams[0].x - iParams[0].x;          // 0, unknown to the compiler
    fragColor = fragCoord.x < 4.0 ? vec4(z / z) : vec4(0.5, 0.2, 0.9, 1.0);
}""")
    images, nonfinite = renderer.render(nan, np.zeros(2), np.full((2, 16), 0.3), (8, 8))
    assert np.allclose(nonfinite, 0.5)


def test_compile_error_names_program(renderer):
    broken = ProgramSource("test/broken", "test", "void mainImage(out vec4 c, in vec2 p) { c = undefined_thing; }")
    with pytest.raises(ShaderCompileError, match="test/broken"):
        renderer.render(broken, np.zeros(1), np.zeros((1, 16)), (8, 8))


@pytest.mark.parametrize("size", [(0, 32), (7, 7), (1025, 16), (32, 2000)])
def test_size_out_of_range(renderer, size):
    with pytest.raises(ValueError, match="allowed 8..1024"):
        renderer.render(GRADIENT, np.zeros(1), np.zeros((1, 16)), size)


def test_param_shape_checked(renderer):
    with pytest.raises(ValueError, match="params shape"):
        renderer.render(GRADIENT, np.zeros(2), np.zeros((2, 15)), (8, 8))


def test_large_non_square(renderer, rng):
    images, _ = renderer.render(GRADIENT, np.zeros(2), rng.random((2, 16)), (1024, 8))
    assert images.shape == (2, 8, 1024, 3)


def test_catalogue_has_24_plus_families():
    assert len(family_names()) >= 24
