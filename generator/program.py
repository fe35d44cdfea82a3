"""Shadertoy-convention programs: wrap a ``mainImage`` body into a GL program that draws tiles.

Every program (hand-written family, composed, or user-supplied) is a fragment body following
the Shadertoy convention (``void mainImage(out vec4 fragColor, in vec2 fragCoord)`` with
``iResolution`` and ``iTime``) plus this project's parameter block ``iParams[4]`` (16 floats
in [0, 1) drawn per image by the sampler). The wrapper feeds ``iTime``, ``iParams`` and the
tile origin per instance (flat varyings from an instanced quad), so one draw call renders many
images of one program, each with its own time and parameters (docs/DESIGN.md "Batch inside the GPU").
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from importlib import resources

N_PARAMS = 16  # floats in iParams (4 x vec4)

VERTEX_SHADER = """#version 330 core
in vec2 in_corner;              // unit-quad corner in {0,1}^2
in vec2 in_origin;              // per instance: tile origin in atlas pixels
in float in_time;               // per instance: iTime in seconds
in vec4 in_p0; in vec4 in_p1; in vec4 in_p2; in vec4 in_p3;
uniform vec2 u_atlas;           // atlas size in pixels
uniform vec2 u_tile;            // tile (image) size in pixels
flat out float v_time;
flat out vec2 v_origin;
flat out vec4 v_params[4];
void main() {
    vec2 px = in_origin + in_corner * u_tile;
    gl_Position = vec4(px / u_atlas * 2.0 - 1.0, 0.0, 1.0);
    v_time = in_time;
    v_origin = in_origin;
    v_params[0] = in_p0; v_params[1] = in_p1; v_params[2] = in_p2; v_params[3] = in_p3;
}
"""

# Shadertoy inputs that make sense for a still image; iChannel* are deliberately absent
# (single-pass, no textures: Shaders21k's rule), so a shader that samples them fails to compile
# and user folders reject it up front with a clear reason.
_PRELUDE = """#version 330 core
uniform vec3 iResolution;
flat in float v_time;
flat in vec2 v_origin;
flat in vec4 v_params[4];
#define iTime v_time
#define iParams v_params
#define iFrame int(v_time * 60.0)
const float iTimeDelta = 1.0 / 60.0;
const float iFrameRate = 60.0;
const vec4 iMouse = vec4(0.0);
const vec4 iDate = vec4(2024.0, 0.0, 1.0, 0.0);
out vec4 unnatural_FragColor;
"""

# Alpha carries a "not finite" flag (0 = some channel was NaN/Inf) so the quality filter can
# see NaN output through an 8-bit framebuffer; colour is made finite before the unorm store.
_EPILOGUE = """
void main() {
    vec4 c = vec4(0.0, 0.0, 0.0, 1.0);
    mainImage(c, gl_FragCoord.xy - v_origin);
    bool bad = any(isnan(c.rgb)) || any(isinf(c.rgb));
    unnatural_FragColor = bad ? vec4(0.0) : vec4(clamp(c.rgb, 0.0, 1.0), 1.0);
}
"""


def common_library() -> str:
    """GLSL source of ``shaders/lib/common.glsl`` (hashes, noise, palettes)."""
    return resources.files("unnatural.shaders").joinpath("lib/common.glsl").read_text()


@dataclass(frozen=True)
class ProgramSource:
    """One renderable program.

    Attributes:
        program_id: unique, stable id (``"fbm"``, ``"composed-000042"``, ``"user/name"``); used as
            cache key and recorded per sample.
        family: family name; the sample's class (``cls``) is its index in the spec's classes.
        body: GLSL defining ``mainImage`` (Shadertoy convention, may read ``iParams``).
        library: prepend ``common.glsl`` (true for this project's own programs; false for user
            shaders, whose names might collide with it).
    """

    program_id: str
    family: str
    body: str
    library: bool = True
    digest: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "digest", hashlib.sha256(self.body.encode()).hexdigest()[:16])

    def fragment_shader(self) -> str:
        """Complete GLSL 3.30 fragment shader: prelude, optional library, body, epilogue."""
        parts = [_PRELUDE]
        if self.library:
            parts.append(common_library())
        # "#line 1" makes compile-log line numbers refer to the body the author wrote.
        parts += ["#line 1\n", self.body, _EPILOGUE]
        return "".join(parts)
