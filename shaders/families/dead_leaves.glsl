// family: dead_leaves
// summary: dead-leaves collage: many overlapping soft-edged disks and rectangles of random colours with power-law sizes, in random depth order
// params: p0 base size/size ratio/density, p1 box-vs-disk mix/rim softness/rotation spread, p2 palette, p3 seed offset/colour spread/depth shading
// Three size layers, each a jittered grid with one candidate shape per cell; the 2x2 nearest
// cells are enough because centre jitter + radius stays under one cell. Every shape gets a
// random depth and the nearest covering one wins, so big and small shapes interleave.

// Cheap 2D integer hash (3 multiplies where uhash2 needs 4; quality is ample for picking shapes).
uint dead_leaves_hash(ivec2 c) {
    uvec2 u = uvec2(c);
    uint h = (u.x * 0x8da6b343u) ^ (u.y * 0xd8163841u);
    h ^= h >> 15; h *= 0x2c1b3c6du; h ^= h >> 13;
    return h;
}

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
        vec2 gp = p / cellSize;
        vec2 base = floor(gp - 0.5);                    // lower-left of the nearest 2x2 cells
        for (int k = 0; k < 4; k++) {
            vec2 cell = base + vec2(k & 1, k >> 1);
            // One hash per candidate, cut into bytes: existence, depth, jitter, size, shape, colour.
            uint h = dead_leaves_hash(ivec2(cell) + ivec2(layer * 7919, int(c.w * 1000.0)));
            uint g = h * 0x9e3779b9u;
            vec4 u = vec4(uvec4(h, h >> 8, h >> 16, h >> 24) & 255u) / 255.0;
            vec4 v = vec4(uvec4(g >> 8, g >> 16, g >> 24, g) & 255u) / 255.0;
            float z = u.y;
            vec2 ctr = cell + 0.5 + 0.6 * (u.zw - 0.5);
            float rad = 0.3 + 0.4 * v.x;               // jitter 0.3 + radius 0.7 <= 1 cell
            // Per-shape turn of up to +-45 degrees (b.z scales it) as an unnormalised rotation:
            // shapes shrink by at most 1/sqrt(2), which is harmless, and no sqrt/trig is needed.
            // With random width/height swaps below this covers every rectangle orientation.
            vec2 cs = vec2(1.0, (v.y - 0.5) * 2.0 * b.z);
            vec2 d = mat2(cs.x, cs.y, -cs.y, cs.x) * (gp - ctr);
            // Box: Chebyshev-style distance (exact inside, which is all we use); disk: Euclidean.
            vec2 e = abs(d) - (v.z < 0.5 ? vec2(1.0, 0.4 + 0.6 * v.w) : vec2(0.4 + 0.6 * v.w, 1.0)) * rad * 0.85;
            float dist = v.w * 7.0 - floor(v.w * 7.0) < b.x ? max(e.x, e.y) : length(d) - rad;
            dist *= cellSize;
            if (dist < 0.0 && u.x <= density && z < bestZ) {
                bestZ = z; bestD = -dist; bestId = float(((h ^ g) >> 20) & 1023u) / 1023.0;
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
