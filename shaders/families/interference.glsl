// family: interference
// summary: wave interference of 2-6 point sources: hyperbolic nodal lines and checkered ripples, as soft intensity or sharp contour bands
// params: p0 palette; p1.x source count 2..6, p1.y wavelength, p1.z source spread, p1.w source layout seed; p2.x band sharpness, p2.y amplitude falloff, p2.z show intensity vs signed field, p2.w band count; p3.x phase offsets, p3.y palette span, p3.z rotation, p3.w time speed

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], c = iParams[2], d = iParams[3];
    vec2 uv = rot(TAU * d.z) * centered(fragCoord);
    int n = 2 + int(b.x * 5.0);
    // keep at least ~5 pixels per wavelength so small renders do not alias
    float k = min(TAU * mix(2.5, 9.0, b.y), TAU * 0.1 * iResolution.y);
    float spread = mix(0.2, 1.2, b.z);
    float w = iTime * mix(0.5, 3.0, d.w);

    // sum of complex amplitudes: re = sum cos(k r - wt + phi), im = sum sin(...)
    vec2 amp = vec2(0.0);
    float total = 0.0;
    for (int i = 0; i < 6; i++) {
        if (i >= n) break;
        float fi = float(i);
        // sources on a jittered ring, or scattered (seed), so layouts vary per image
        float ang = TAU * (fi / float(n) + 0.3 * hash11(fi + 50.0 * b.w) * b.w);
        vec2 s = spread * mix(1.0, 0.3 + hash11(fi * 7.0 + 9.0 * b.w), b.w) * vec2(cos(ang), sin(ang));
        float r = length(uv - s);
        float ph = k * r - w + TAU * d.x * hash11(fi * 3.0 + 1.0);
        float fall = 1.0 / (1.0 + c.y * 4.0 * r);         // 2D waves decay with distance
        amp += fall * vec2(cos(ph), sin(ph));
        total += fall;
    }
    // amplitude |A| (what a screen shows, as sqrt of intensity) or the instantaneous field
    // Re(A), both normalised by the local sum of amplitudes so they span [0, 1]
    float v = c.z < 0.5 ? length(amp) / total : 0.5 + 0.5 * amp.x / total;
    // banding: sharp contour bands or smooth
    float bands = mix(2.0, 7.0, c.w);
    float q = v * bands;
    float sharpv = floor(q) + smoothstep(0.5 - 0.5 * (1.0 - c.x), 0.5 + 0.5 * (1.0 - c.x), fract(q));
    float t = mix(q, sharpv, step(0.4, c.x)) / bands;
    vec3 col = palette(t * mix(0.6, 1.6, d.y), a);
    col *= 0.3 + 0.7 * v;
    fragColor = vec4(col, 1.0);
}
