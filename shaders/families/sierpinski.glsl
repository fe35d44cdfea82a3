// family: sierpinski
// summary: self-similar subdivision fractals: Sierpinski carpets and triangles, Vicsek crosses, Cantor dusts and random base-2/3/4 relatives, coloured by removal depth
// params: p0 base/keep pattern/pattern twist, p1 skew (triangle look)/rotation/scale, p2 palette, p3 pan/colour depth scale/hole style
// Generalised carpet: at each level the square splits into b x b sub-squares and a param mask
// says which survive (carpet = all but the centre, triangle = 3 of 4 with a skew, Vicsek =
// centre + edges, ...). A pixel's colour is the level where it fell into a removed square.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], q = iParams[2], c = iParams[3];
    int base = 2 + int(a.x * 3.0);                      // 2, 3 or 4
    int cells = base * base;
    // Keep mask: each sub-square survives with probability keep; then make sure at least one
    // is removed and at least two survive so the result is a real fractal.
    float keep = base == 2 ? 0.75 : 0.5 + 0.35 * a.y;
    uint seed = uhash(uint(a.y * 65535.0) + 7u * uint(base));
    uint mask = 0u;
    int kept = 0;
    for (int i = 0; i < 16; i++) {
        if (i >= cells) break;
        seed = uhash(seed + uint(i));
        bool k = u01(seed) < keep;
        mask |= k ? (1u << uint(i)) : 0u;
        kept += k ? 1 : 0;
    }
    if (kept == cells) mask &= ~(1u << uint(cells / 2));  // carpet-style centre hole
    if (kept < 2) mask |= 1u | (1u << uint(cells - 1));
    // Coordinates: rotate, scale so 1..3 copies show, optional skew to make triangles.
    float zoom = 0.6 + 1.0 * b.z;
    vec2 p = rot(TAU * b.y) * centered(fragCoord) * zoom + (c.xy - 0.5) * 4.0 + 0.01 * iTime;
    p.x += p.y * (b.x > 0.5 ? 0.57735 : 0.0);          // shear lattice: squares -> triangles look
    vec2 u = fract(p * 0.5);
    float fb = float(base);
    // Stop subdividing once the sub-squares get smaller than ~2 pixels (a tile is 2 units of p),
    // so small renders show the same structure instead of pixel noise.
    float tilePx = iResolution.y / zoom;
    int maxDepth = clamp(int(log(tilePx / 2.0) / log(fb)), 1, 7);
    int hole = -1, holeIdx = 0;
    for (int lvl = 0; lvl < 7; lvl++) {
        if (lvl >= maxDepth) break;
        u *= fb;
        ivec2 ci = ivec2(floor(u));
        u -= vec2(ci);
        // Optional twist: odd levels rotate the mask by 90 degrees (pinwheel variants).
        if (a.z > 0.5 && (lvl & 1) == 1) ci = ivec2(ci.y, base - 1 - ci.x);
        int idx = ci.x + base * ci.y;
        if ((mask & (1u << uint(idx))) == 0u) { hole = lvl; holeIdx = idx; break; }
    }
    float dep = hole < 0 ? float(maxDepth) : float(hole);
    float tcol = dep / float(maxDepth) * (0.5 + c.z) + q.w;
    vec3 solid = palette(tcol + 0.15 * u.x, q);
    // Holes: darker colour keyed to their depth, with a soft vignette inside each hole.
    vec2 e = min(u, 1.0 - u);
    float inner = smoothstep(0.0, 0.25, min(e.x, e.y));
    vec3 holeCol = palette(tcol + 0.5 + 0.1 * float(holeIdx), q.yzxw) * (0.25 + 0.35 * c.w) * (0.6 + 0.4 * inner);
    vec3 col = hole < 0 ? solid : holeCol;
    fragColor = vec4(col, 1.0);
}
