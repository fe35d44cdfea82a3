// family: fbm_noise
// summary: fractal noise fields (clouds, marble, ridged or billowy turbulence) in cosine-palette colours
// params: p0 palette; p1.x value/gradient noise mix, p1.y octaves 2..7, p1.z gain, p1.w scale; p2.xy offset, p2.z rotation, p2.w plain/billow/ridged/banded; p3.x contrast, p3.y drift direction, p3.z palette span, p3.w second-tone mix

// One octave mixes value noise (blocky-soft) and gradient noise (rounder) by weight w.
float fbm_noise_octave(vec2 p, float w) {
    float g = gnoise(p);
    if (w < 0.05) return g;
    return mix(g, vnoise(p) * 2.0 - 1.0, w);
}

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], c = iParams[2], d = iParams[3];
    vec2 uv = centered(fragCoord);
    vec2 drift = vec2(cos(TAU * d.y), sin(TAU * d.y)) * 0.15 * iTime;
    vec2 p = rot(TAU * c.z) * uv * mix(1.0, 5.0, b.w * b.w) + 40.0 * c.xy + drift;

    int oct = 2 + int(b.y * 6.0);
    float gain = mix(0.35, 0.72, b.z);
    float sum = 0.0, amp = 1.0, norm = 0.0;
    for (int i = 0; i < 7; i++) {
        if (i >= oct) break;
        sum += amp * fbm_noise_octave(p, b.x);
        norm += amp;
        amp *= gain;
        p = rot(0.7) * p * 2.03 + vec2(5.2, 1.3);
    }
    float n = sum / norm * 1.8;   // normalised sum of octaves has std ~0.25; stretch to ~[-1,1]

    // Shaping modes give clearly different textures from the same noise.
    float mode = floor(c.w * 4.0);
    if (mode == 1.0) n = 2.0 * abs(n) - 0.6;                    // billowy
    else if (mode == 2.0) n = 0.8 - 2.0 * abs(n);               // ridged
    else if (mode == 3.0) n = sin(n * mix(4.0, 10.0, d.x));     // marble-like bands

    float t = n * mix(0.2, 0.6, d.z) + 0.3 * d.x;
    vec3 col = palette(t, a);
    // second tone: darken/tint by a slower noise so large areas are not one hue
    float shade = 0.5 + 0.5 * gnoise(uv * 1.3 + 9.0 * d.w);
    col *= mix(1.0, 0.45 + 0.8 * shade, d.w);
    fragColor = vec4(col, 1.0);
}
