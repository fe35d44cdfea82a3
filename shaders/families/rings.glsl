// family: rings
// summary: concentric rings: one eccentric target or a packed grid of ring-filled disks, with per-ring colours, widths and broken arcs
// params: p0 layout (global/grid, cell size, hex offset), p1 ring frequency/eccentric drift/arc coverage, p2 palette, p3 outline/colour spread/spin speed
// One code path serves both layouts (llvmpipe pays for every branch): the ring centre is either
// a param point (global target) or the pixel's cell centre (grid of disks, odd rows shifted
// half a cell for a hex-like packing).
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], q = iParams[2], c = iParams[3];
    vec2 p = centered(fragCoord) * rot(TAU * a.w);
    bool grid = a.x > 0.45;
    float cs = 0.35 + 0.9 * a.y;                        // grid cell size
    vec2 g = p / cs;
    float row = floor(g.y);
    g.x += a.z > 0.5 ? 0.5 * mod(row, 2.0) : 0.0;       // hex-like row offset
    vec2 cell = floor(g);
    vec2 ctr = grid ? (cell + 0.5) * cs - vec2(a.z > 0.5 ? 0.5 * mod(row, 2.0) * cs : 0.0, 0.0)
                    : (vec2(a.y, a.z) - 0.5) * 0.8;
    vec2 d = p - ctr;
    float r = length(d);
    // Eccentric drift: the ring centre slides with radius, so rings crowd on one side.
    vec2 drift = vec2(cos(TAU * b.y), sin(TAU * b.y)) * b.y * 0.6;
    float r2 = length(d - drift * r);
    float id = grid ? hash21(cell + 31.0) : 0.0;        // per-disk variation
    float freq = (grid ? 3.0 : 5.0) + 14.0 * b.x;
    float u = r2 * freq / (grid ? cs : 1.0) + id * 3.0;
    float ring = floor(u), f = fract(u);
    float rh = hash11(ring + 57.0 * id + floor(c.w * 100.0));
    // Broken arcs: each ring keeps an angular window starting at a random angle, spinning.
    float ang = atan(d.y, d.x) / TAU + rh + iTime * 0.05 * (rh - 0.5) * (1.0 + 4.0 * c.z);
    float cover = 0.35 + 0.65 * b.z + 0.3 * step(0.6, b.z);
    float arc = step(fract(ang), cover);
    vec3 col = palette(rh * (0.3 + 1.2 * c.y) + id + q.w, q);
    vec3 bg = palette(q.w + 0.5 + 0.2 * r, q.yxzw) * 0.35;
    // Per-ring width: the band fills part of each ring period, with a dark outline option.
    float w = 0.45 + 0.5 * fract(rh * 7.1);
    float band = smoothstep(0.0, 0.06, f) * smoothstep(w, w - 0.06, f);
    col = mix(bg, col, band * arc);
    col *= 1.0 - 0.5 * c.x * smoothstep(0.1, 0.0, abs(f - w * 0.5) - w * 0.4);
    // Grid disks end at the cell's inscribed circle.
    float disk = grid ? smoothstep(0.5 * cs, 0.47 * cs, r) : 1.0;
    col = mix(bg * 0.6 + 0.1 * palette(id, q.zyxw), col, disk);
    fragColor = vec4(col, 1.0);
}
