// family: truchet
// summary: Truchet tilings: random quarter-arc mazes or diagonal zigzags, as tube-shaded bands over two-colour region fills
// params: p0 palette; p1.x tile variant (arcs/diagonals), p1.y grid scale, p1.z line width, p1.w fill/no-fill and outline; p2.x rotation, p2.y seed, p2.z per-tile colour jitter, p2.w palette offset; p3.x time colour shift, p3.y domain warp, p3.z fill brightness, p3.w tube shading

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], c = iParams[2], d = iParams[3];
    vec2 uv = rot(TAU * c.x) * centered(fragCoord);
    float sc = mix(2.5, 8.0, b.y);
    vec2 p = uv * sc + 100.0 * c.y;
    p += d.y * 0.35 * vec2(gnoise(uv * 2.0 + 5.0), gnoise(uv * 2.0 - 3.0));
    vec2 cell = floor(p);
    vec2 f = fract(p) - 0.5;
    float flip = step(0.5, hash21(cell + 17.0 * c.y));
    if (flip > 0.5) f.x = -f.x;                   // random mirror: the Truchet choice

    // dist: distance to the tile's curve; side: which side of it (for two-colour fills)
    float dist, side;
    bool arcs = b.x < 0.6;
    if (arcs) {
        // quarter arcs around two opposite corners
        vec2 q = f.x + f.y > 0.0 ? f - 0.5 : f + 0.5;
        dist = length(q) - 0.5;
    } else {
        // diagonal segments: a maze of zigzags
        dist = (f.x + f.y) * 0.7071;
    }
    side = step(0.0, dist);
    if (!arcs) side = step(0.0, f.x + f.y);
    dist = abs(dist);
    // the regions between curves are two-colourable: side, mirror and cell parity decide
    float parity = mod(side + flip + cell.x + cell.y, 2.0);

    float w = mix(b.w < 0.5 ? 0.05 : 0.12, 0.24, b.z);   // bare lines are kept thicker
    // about one pixel in cell units; capped so tiny renders stay crisp (aliased) rather than grey
    float aa = min(2.0 * sc / iResolution.y, 0.08);
    float band = 1.0 - smoothstep(w - aa, w + aa, dist);

    float tid = hash21(cell + 3.1);
    vec3 fillA = palette(c.w, a) * mix(0.2, 0.9, d.z);
    vec3 fillB = palette(c.w + 0.35 + 0.3 * c.z * tid, a) * mix(0.5, 1.0, d.z);
    vec3 bg = mix(fillA, fillB, parity);
    float t = c.w + 0.6 + 0.3 * c.z * tid + 0.05 * iTime * d.x;
    vec3 fg = palette(t, a.yzxw);
    fg = mix(fg / max(max(fg.r, fg.g), max(fg.b, 0.2)), vec3(1.0), 0.2);   // bands always bright
    // tube shading across the band
    float tube = sqrt(max(0.0, 1.0 - dist * dist / (w * w)));
    vec3 lines = mix(bg, fg * mix(1.0, 0.4 + 0.6 * tube, d.w), band);
    // b.w: 0..0.5 filled regions with lines, 0.5..1 lines over a dark ground (no fill)
    vec3 col = b.w < 0.5 ? lines : mix(fillA * 0.25, fg * mix(1.0, 0.4 + 0.6 * tube, d.w), band);
    // optional dark outline around the bands (thin: about a quarter of the band)
    col *= mix(1.0, smoothstep(0.0, 0.25 * w + aa, abs(dist - w)), step(0.3, fract(b.w * 2.0)));
    fragColor = vec4(col, 1.0);
}
