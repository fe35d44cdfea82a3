// unnatural composer building blocks: shared helpers (prefix cb_). Written for this project.
//
// Block format (parsed by generator/composer.py):
//   // @block NAME KIND [cost=C] [weight=W] [zoom=Z] [needs=a,b]
//   // @param NAME LO HI [time] [freq]
//   <one GLSL function named NAME>
// A block runs from its "@block" line to the next one. KIND decides the call shape the
// composer generates (see composer.py); each "@param" is one trailing float argument, fed by
// an iParams entry mapped into [LO, HI] ("time" params also advance with iTime, radians).
// "cost" is the measured shading cost: microseconds of one llvmpipe core per 32x32 image.
// Transforms declare "zoom", the typical factor by which they raise spatial frequency;
// "freq" params are divided by the zoom accumulated before them (see composer.py).
// Helpers (KIND helper) are only included through another block's "needs".

// @block cb_angle helper
// Polar angle in (-PI, PI]; 0 at the origin, where atan(0, 0) is undefined in GLSL.
float cb_angle(vec2 p) {
    return dot(p, p) < 1e-12 ? 0.0 : atan(p.y, p.x);
}

// @block cb_wave helper
// Wave of phase x (period TAU) in [0, 1]: a sine at sharp = 0, nearly square at sharp = 1.
float cb_wave(float x, float sharp) {
    float gain = 1.0 + 9.0 * sharp * sharp;
    return 0.5 + 0.5 * clamp(sin(x) * gain, -1.0, 1.0);
}

// @block cb_tri helper
// Triangle waves of period 1 in [0, 1]: 0 at integers, 1 at half-integers.
float cb_tri(float x) { return 1.0 - abs(1.0 - 2.0 * fract(x)); }
vec2 cb_tri2(vec2 x) { return 1.0 - abs(1.0 - 2.0 * fract(x)); }

// @block cb_vfbm helper
// Value-noise fBm of 1..6 octaves, contrast-stretched into [0, 1] (sums of value noise
// bunch up around 0.5). Octave step: rotation by the 3-4-5 angle, scale 2.
float cb_vfbm(vec2 p, int octaves) {
    float sum = 0.0, amp = 1.0, norm = 0.0;
    for (int i = 0; i < 6; i++) {
        if (i >= octaves) break;
        sum += amp * vnoise(p);
        norm += amp;
        amp *= 0.5;
        p = mat2(1.6, 1.2, -1.2, 1.6) * p + vec2(3.7, 1.9);
    }
    return clamp((sum / norm - 0.5) * 2.2 + 0.5, 0.0, 1.0);
}

// @block cb_shape helper
// Turns a signed distance d (negative inside) into a [0, 1] field: a bright banded interior,
// darker echo bands outside that fade to a floor, so a single shape never leaves the image
// flat.
float cb_shape(float d, float bands) {
    float inside = smoothstep(0.03, -0.03, d);
    float echo = 0.5 + 0.5 * cos(d * bands);
    float outside = 0.5 * echo * (0.4 + 0.6 * exp(-1.5 * max(d, 0.0)));
    return mix(outside, 0.55 + 0.45 * echo, inside);
}
