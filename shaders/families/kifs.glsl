// family: kifs
// summary: 2D kaleidoscopic IFS fractals: symmetric lacy snowflakes, carpets and circuit-like filigree from repeated fold-rotate-scale
// params: p0 palette; p1.x iterations 8..12, p1.y scale, p1.z fold angle, p1.w fold offset angle; p2.x fold offset length, p2.y zoom, p2.z motif (ring/box/line), p2.w line width; p3.x octant fold on/off + level colour spread, p3.y palette offset, p3.z polar pre-fold on/off + background brightness, p3.w time spin

// Distance to the base motif drawn at every level of the IFS: ring, box outline or line.
float kifs_motif(vec2 p, float kind) {
    if (kind < 0.33) return abs(length(p) - 0.5);
    if (kind < 0.66) return abs(sdBox2(p, vec2(0.45, 0.25)));
    return abs(p.y);
}

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], c = iParams[2], d = iParams[3];
    int n = 8 + int(b.x * 5.0);
    bool oct = d.x > 0.5;
    // 4 copies per level (8 with the octant fold) do not overlap when s >= 2 (2.83): keeps the
    // set lacy instead of filling the plane with sub-pixel noise
    float s = oct ? mix(2.6, 3.4, b.y) : mix(1.9, 2.9, b.y);
    mat2 r = rot(PI * (b.z - 0.5) * 0.9 + 0.05 * iTime * (d.w - 0.5));
    // offset in the first quadrant: folding maps points there, so a shift toward it keeps them
    // bounded (an offset pointing away would make every orbit escape and leave an empty frame)
    float oa = 0.5 * PI * mix(0.05, 0.95, b.w);
    vec2 off = mix(0.2, 0.8, c.x) * vec2(cos(oa), sin(oa));
    // points beyond |off| s / (s - 1) escape, so the attractor fits in that radius: frame it
    float R = length(off) * s / (s - 1.0);
    vec2 p = rot(TAU * fract(b.z * 5.3)) * centered(fragCoord) * R * mix(0.45, 1.0, c.y);
    if (d.z > 0.5) {
        // optional polar pre-fold: m-fold rosette symmetry instead of only the IFS's mirror axes
        float m = 3.0 + floor(fract(b.x * 7.1) * 5.0);
        float ang = abs(mod(atan(p.y, p.x), TAU / m) - PI / m);
        p = length(p) * vec2(cos(ang), sin(ang));
    }
    // every level: fold into a quadrant (and octant), shift, rotate, enlarge; the motif drawn
    // in the folded frame appears at all scales and symmetric copies in the image
    float k = 1.0, trap = 1e9, ti = 0.0;
    for (int i = 0; i < 12; i++) {
        if (i >= n) break;
        p = abs(p) - off;
        if (oct && p.x < p.y) p = p.yx;
        p = r * p * s;
        k *= s;
        float m = kifs_motif(p, c.z) / k;          // back to image units
        if (m < trap) { trap = m; ti = float(i); }
    }
    float w = mix(0.003, 0.015, c.w) * R;
    float glow = exp(-trap / w) * (1.0 - 0.6 * ti / float(n));   // deeper levels fainter
    vec3 ink = palette(d.y + ti / float(n) * mix(0.4, 1.2, d.x), a);
    // background: smooth distance to the limit set (|p| / k after the last level)
    float de = length(p) / k / R;
    vec3 bg = palette(d.y + 0.5 + 0.3 * log(de + 1e-4), a.yzxw) * mix(0.2, 0.75, fract(d.z * 2.0));
    vec3 col = mix(bg, ink, glow);
    fragColor = vec4(col, 1.0);
}
