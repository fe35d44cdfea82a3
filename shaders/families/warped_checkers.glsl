// family: warped_checkers
// summary: checkerboards and grid lines seen through polar, log-polar, perspective or noise warps, with per-cell tints
// params: p0 warp mode/scale/rotation, p1 warp strength/centre, p2 palette, p3 line width/tint amount/pattern mix
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], q = iParams[2], c = iParams[3];
    vec2 p = rot(TAU * a.z) * (centered(fragCoord) - (b.zw - 0.5) * 0.6);
    float t = iTime;
    float scale = 2.5 + 5.5 * a.y;
    int mode = int(a.x * 4.0);
    vec2 g;
    float fog = 0.0;                                  // fades cells too small to resolve
    if (mode == 0) {
        // Polar: rings by radius, sectors by angle (integer sector count keeps the seam clean).
        float sectors = floor(4.0 + 16.0 * b.x);
        g = vec2(length(p) * scale + 0.3 * t, atan(p.y, p.x) / TAU * sectors);
    } else if (mode == 1) {
        // Log-polar: self-similar rings that shrink toward the centre, slowly zooming.
        float sectors = floor(4.0 + 12.0 * b.x);
        g = vec2((log(length(p) + 1e-4) - 0.2 * t) * sectors / TAU, atan(p.y, p.x) / TAU * sectors);
        g += vec2(g.y * b.y * 0.5, 0.0);             // optional twist into a spiral
        fog = 1.0 - smoothstep(0.0, 0.12, length(p));
    } else if (mode == 2) {
        // Perspective floor: divide by distance to a horizon line.
        float hz = 0.3 + 0.9 * b.x;
        float den = p.y + hz;
        g = vec2(p.x, 1.0) / max(abs(den), 0.03) * (0.5 + 0.2 * scale);
        g.y += t * 0.5;
        g *= sign(den);
        fog = 1.0 - smoothstep(0.0, 0.5, abs(den));
    } else {
        // Noise warp: board bent by a low-frequency gradient-noise displacement.
        vec2 np = p * (1.0 + b.y * 2.0) + b.zw * 30.0 + 0.1 * t;
        g = p * scale + (0.5 + 2.0 * b.x) * vec2(gnoise(np), gnoise(np + 7.7));
    }
    vec2 cell = floor(g);
    vec2 f = fract(g);
    float chk = mod(cell.x + cell.y, 2.0);
    float tint = hash21(cell + 17.0 * floor(q.xy * 50.0));
    vec3 c0 = palette(q.w + 0.15 * c.y * tint, q);
    vec3 c1 = palette(q.w + 0.5 + 0.15 * c.y * tint, q);
    vec3 col = mix(c0, c1, chk);
    col = mix(col, palette(tint, q.yxzw), c.y * 0.5); // per-cell colour variation
    // Grid lines: distance to the nearest cell border in grid units.
    float lw = 0.02 + 0.12 * c.x;
    vec2 e = min(f, 1.0 - f);
    float line = 1.0 - smoothstep(lw, lw + 0.04, min(e.x, e.y));
    vec3 lineCol = mix(vec3(0.05), vec3(0.95), step(0.5, c.z));
    col = mix(col, lineCol, line * step(0.3, c.z));
    col = mix(col, 0.5 * (c0 + c1), fog);
    fragColor = vec4(col, 1.0);
}
