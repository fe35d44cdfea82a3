// unnatural common GLSL library: hashing, noise, palettes and small helpers shared by
// the hand-written families and the program composer. Written for this project.
// Everything here is pure (no uniforms), so unused functions cost nothing once compiled.

const float PI = 3.14159265358979;
const float TAU = 6.28318530717959;

// 2D rotation by angle a (radians).
mat2 rot(float a) {
    float c = cos(a), s = sin(a);
    return mat2(c, s, -s, c);
}

// Integer avalanche hash (xorshift-multiply; 32-bit constants from the public
// "lowbias32" search). Integer hashing is exact on every GL driver, unlike sin()-based hashes.
uint uhash(uint x) {
    x ^= x >> 16; x *= 0x7feb352du;
    x ^= x >> 15; x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}
uint uhash2(ivec2 p) { return uhash(uint(p.x) ^ uhash(uint(p.y) + 0x9e3779b9u)); }
uint uhash3(ivec3 p) { return uhash(uint(p.x) ^ uhash2(p.yz)); }

// Uniform floats in [0, 1) from integer lattice points.
float u01(uint h) { return float(h >> 8) * (1.0 / 16777216.0); }
float hash21(vec2 p) { return u01(uhash2(ivec2(floor(p)))); }
float hash31(vec3 p) { return u01(uhash3(ivec3(floor(p)))); }
vec2 hash22(vec2 p) {
    uint h = uhash2(ivec2(floor(p)));
    return vec2(u01(h), u01(uhash(h)));
}
vec3 hash32(vec2 p) {
    uint h = uhash2(ivec2(floor(p)));
    uint g = uhash(h);
    return vec3(u01(h), u01(g), u01(uhash(g)));
}
float hash11(float x) { return u01(uhash(uint(int(floor(x))))); }

vec2 smooth5(vec2 f) { return f * f * f * (f * (f * 6.0 - 15.0) + 10.0); }

// Value noise in [0, 1].
float vnoise(vec2 p) {
    vec2 i = floor(p), f = smooth5(fract(p));
    float a = hash21(i), b = hash21(i + vec2(1, 0));
    float c = hash21(i + vec2(0, 1)), d = hash21(i + vec2(1, 1));
    return mix(mix(a, b, f.x), mix(c, d, f.x), f.y);
}

// Gradient (Perlin-style) noise in about [-1, 1]. Gradients are hashed vectors in [-1, 1]^2
// rather than unit vectors from cos/sin: eight fewer transcendentals per call on llvmpipe.
float gnoise(vec2 p) {
    vec2 i = floor(p), f = fract(p), u = smooth5(f);
    float a = dot(hash22(i) * 2.0 - 1.0, f);
    float b = dot(hash22(i + vec2(1, 0)) * 2.0 - 1.0, f - vec2(1, 0));
    float c = dot(hash22(i + vec2(0, 1)) * 2.0 - 1.0, f - vec2(0, 1));
    float d = dot(hash22(i + vec2(1, 1)) * 2.0 - 1.0, f - vec2(1, 1));
    return 1.6 * mix(mix(a, b, u.x), mix(c, d, u.x), u.y);
}

// Fractal Brownian motion of gradient noise; octaves clamped to [1, 8]. Result about [-1, 1].
float fbm(vec2 p, int octaves, float gain) {
    float sum = 0.0, amp = 0.5, norm = 0.0;
    mat2 m = rot(0.6435) * 2.02;   // rotate between octaves to hide lattice alignment
    for (int i = 0; i < 8; i++) {
        if (i >= octaves) break;
        sum += amp * gnoise(p);
        norm += amp;
        amp *= gain;
        p = m * p + vec2(17.3, -9.1);
    }
    return sum / norm;
}

// Cellular (Worley) noise: x = distance to nearest feature point, y = second nearest,
// z = random id in [0, 1) of the nearest cell. jitter in [0, 1].
vec3 voronoi(vec2 p, float jitter) {
    vec2 i = floor(p), f = fract(p);
    float d1 = 8.0, d2 = 8.0, id = 0.0;
    for (int y = -1; y <= 1; y++)
    for (int x = -1; x <= 1; x++) {
        vec2 g = vec2(x, y);
        vec2 o = hash22(i + g) * jitter + 0.5 * (1.0 - jitter);
        float d = length(g + o - f);
        if (d < d1) { d2 = d1; d1 = d; id = hash21(i + g + 71.0); }
        else if (d < d2) { d2 = d; }
    }
    return vec3(d1, d2, id);
}

// Cosine palette: t in any range, q (usually an iParams entry, components in [0, 1))
// selects phase and frequency, so every parameter draw gives a different colour scheme.
vec3 palette(float t, vec4 q) {
    vec3 phase = q.xyz + vec3(0.0, 0.33, 0.67) * (0.5 + q.w);
    vec3 freq = vec3(0.6 + 1.2 * q.w, 0.8 + 0.7 * q.x, 1.0 + 0.5 * q.y);
    return 0.5 + 0.5 * cos(TAU * (freq * t + phase));
}

vec3 hsv2rgb(vec3 c) {
    vec3 k = clamp(abs(mod(c.x * 6.0 + vec3(0, 4, 2), 6.0) - 3.0) - 1.0, 0.0, 1.0);
    return c.z * mix(vec3(1.0), k, c.y);
}

// Polynomial smooth minimum of two distances with blend radius k > 0.
float smin(float a, float b, float k) {
    float h = clamp(0.5 + 0.5 * (b - a) / k, 0.0, 1.0);
    return mix(b, a, h) - k * h * (1.0 - h);
}

float sdBox2(vec2 p, vec2 b) {
    vec2 d = abs(p) - b;
    return length(max(d, 0.0)) + min(max(d.x, d.y), 0.0);
}

// Centred, aspect-correct coordinates: y in [-1, 1], x scaled by the aspect ratio.
vec2 centered(vec2 fragCoord) {
    return (2.0 * fragCoord - iResolution.xy) / iResolution.y;
}
