// family: dead_leaves
// summary: dead-leaves collage: many overlapping soft-edged disks and rectangles of random colours with power-law sizes, in random depth order
// params: p0 base size/size ratio/density, p1 shape mix/softness/rotation spread/outline, p2 palette, p3 seed offset/colour spread/shading
// Three size layers, each a jittered grid with one candidate shape per cell; the 2x2 nearest
// cells are enough because centre jitter + radius stays under one cell. Every shape gets a
// random depth and the nearest covering one wins, so big and small shapes interleave.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], q = iParams[2], c = iParams[3];
    vec2 p = centered(fragCoord) + (c.xy - 0.5) * 40.0 + 0.03 * iTime;
    float cellSize = 0.5 + 0.7 * a.x;                  // largest layer's cell size
    float ratio = 0.35 + 0.25 * a.y;                    // size ratio between layers (power law)
    float density = 0.65 + 0.35 * a.z;
    float soft = 0.01 + 0.08 * b.y;
    float bestZ = 2.0, bestD = 0.0, bestId = 0.0;
    vec3 bestCol = palette(c.z, q) * 0.3;
    for (int layer = 0; layer < 3; layer++) {
        vec2 g = p / cellSize;
        vec2 base = floor(g - 0.5);                    // lower-left of the nearest 2x2 cells
        for (int k = 0; k < 4; k++) {
            vec2 cell = base + vec2(k & 1, k >> 1);
            uint h = uhash2(ivec2(cell) + ivec2(layer * 7919, int(c.w * 1000.0)));
            // Existence and depth first, so hidden or absent shapes skip the rest.
            float h0 = u01(h), z = fract(h0 * 61.7 + 0.13);
            if (h0 > density || z > bestZ) continue;
            h = uhash(h);
            float h1 = u01(h), h3 = u01(h << 8), h2 = fract(h1 * 37.3 + h3);
            vec2 ctr = cell + 0.5 + 0.3 * (vec2(h1, h2) - 0.5) * 2.0;
            float rad = 0.3 + 0.4 * h3;                 // jitter 0.3 + radius 0.7 <= 1 cell
            // Per-shape rotation from a hashed direction (no trig); b.z blends toward axis-aligned.
            vec2 cs = normalize(mix(vec2(1.0, 0.0), vec2(h3, h1) - 0.5, b.z) + vec2(1e-4, 0.0));
            vec2 d = mat2(cs.x, cs.y, -cs.y, cs.x) * (g - ctr);
            float dist = (fract(h2 * 13.7) < b.x)
                ? sdBox2(d, vec2(rad, rad * (0.4 + 0.6 * h1)) * 0.85)
                : length(d) - rad;
            dist *= cellSize;
            if (dist < 0.0) {
                bestZ = z; bestD = -dist; bestId = fract(h1 * 7.3 + h3);
            }
        }
        cellSize *= ratio;
    }
    vec3 col = bestCol;
    if (bestZ < 2.0) {
        col = palette(bestId * (0.3 + 0.9 * c.y), q);
        col *= mix(0.55, 1.0, smoothstep(0.0, soft, bestD));   // soft darkened rim
        col *= 1.0 - 0.25 * c.z * bestZ;                       // farther leaves a bit darker
    }
    fragColor = vec4(col, 1.0);
}
