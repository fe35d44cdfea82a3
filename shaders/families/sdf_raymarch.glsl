// family: sdf_raymarch
// summary: raymarched 3D scenes: an endless grid of rounded spheres/boxes (some ring-topped) melted into a checkered floor, lit, fogged into a gradient sky
// params: p0 object palette; p1 sky/floor palette; p2.x sphere..box, p2.y grid spacing, p2.z smooth-union radius, p2.w ring on top; p3.x camera azimuth + empty-cell rate, p3.y camera height/pitch, p3.z camera distance/fov + ring size, p3.w light direction

// Distance to the objects only (the floor y = -1 is handled analytically in mainImage); id
// returns a per-object value in [0, 1) for colouring. One object per cell of an infinite grid:
// a rounded box (a sphere when its core size is 0) topped by an optional ring, smoothly merged.
// One parametric primitive instead of a switch between types: in the hot loop a per-pixel
// branch would cost the sum of all primitives.
float sdf_raymarch_objects(vec3 p, out float id) {
    vec4 c = iParams[2], g = iParams[3];
    float sp = mix(2.2, 4.0, c.y);
    vec2 cell = floor(p.xz / sp + 0.5);
    vec3 q = vec3(p.x - cell.x * sp, p.y, p.z - cell.y * sp);
    // three per-cell randoms (10 bits each) from one short multiply-xorshift hash: the full
    // uhash2 costs ~15% of the frame in this loop
    uint hu = uint(int(cell.x) + int(c.x * 1000.0)) * 0x9E3779B1u ^ uint(int(cell.y)) * 0x85EBCA77u;
    hu ^= hu >> 15; hu *= 0x2C1B3C6Du; hu ^= hu >> 12;
    vec3 h = vec3(uvec3(hu, hu >> 10, hu >> 20) & 1023u) / 1024.0;
    id = fract(h.x * 3.1 + h.z);
    float s = 0.34 * sp * mix(0.55, 1.0, h.x);       // horizontal half-extent stays inside the cell
    float bx = 0.7 * c.x, rr = 1.0 - bx;              // box core vs rounding: sphere .. box
    float by = bx * mix(0.3, 1.5, h.y);               // per-cell height of the box core
    float ya = -1.0 + s * (0.5 * rr + by);
    vec3 e = abs(q - vec3(0.0, ya, 0.0)) - s * vec3(bx, by, bx);
    float A = length(max(e, 0.0)) + min(max(e.x, max(e.y, e.z)), 0.0) - s * rr;
    // some cells stay empty: then a safe distance is the way out of the cell plus the gap
    // every neighbour keeps to its border (objects reach at most 0.34 sp from their centre)
    if (h.z < 0.35 * g.x) return 0.5 * sp - max(abs(q.x), abs(q.z)) + 0.16 * sp;
    if (c.w < 0.5) return A;
    // a ring resting on top (the branch is uniform per image, so llvmpipe skips it when off)
    vec3 q2 = q - vec3(0.0, ya + s * (by + rr) + 0.1 * s, 0.0);
    float B = length(vec2(length(q2.xz) - s * mix(0.3, 0.75, g.z), q2.y)) - 0.25 * s;
    return smin(A, B, mix(0.05, 0.4, c.z) * s);
}

// Upper bound of the object heights for this image (see the sizes above).
float sdf_raymarch_top() {
    vec4 c = iParams[2];
    float sp = mix(2.2, 4.0, c.y), bx = 0.7 * c.x, rr = 1.0 - bx;
    return -1.0 + 0.34 * sp * (1.5 * rr + 3.0 * bx + 0.4);
}

// Full scene: objects melted into the floor with a smooth union of radius k.
float sdf_raymarch_scene(vec3 p, float k) {
    float id;
    return smin(sdf_raymarch_objects(p, id), p.y + 1.0, k);
}

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], c = iParams[2], e = iParams[3];
    vec2 uv = centered(fragCoord);
    float az = TAU * e.x + 0.1 * iTime;
    float dist = mix(3.5, 9.0, e.z);
    float top = sdf_raymarch_top();
    vec3 ro = vec3(dist * cos(az), top + mix(0.2, 2.5, e.y), dist * sin(az));   // above every object
    vec3 ta = vec3(0.0, mix(-1.5, 0.5, e.y), 0.0);
    vec3 fw = normalize(ta - ro);
    vec3 rt = normalize(cross(fw, vec3(0.0, 1.0, 0.0)));
    vec3 up = cross(rt, fw);
    vec3 rd = normalize(fw * mix(1.2, 2.2, e.z) + uv.x * rt + uv.y * up);
    float k = mix(0.05, 0.7, c.z);

    vec3 sky = mix(palette(0.2, b), palette(0.7, b) * 0.6, clamp(rd.y * 1.5 + 0.3, 0.0, 1.0));
    // The smooth union is >= min(objects, floor) - k/4, so away from objects a step may run
    // straight to the plane y = -1 + k/4 (exact along the ray) instead of creeping toward the
    // floor at grazing angles. Rays start where they drop below the tallest object top.
    float yb = -1.0 + 0.25 * k;
    float tp = rd.y < -1e-4 ? (ro.y - yb) / -rd.y : 1e9;
    float t = rd.y < -1e-4 ? max(0.0, (ro.y - top) / -rd.y) : 1e9;
    float tmax = min(tp + 1.0, 16.0);
    // hit tolerance ~2 pixels of the cone (coarse at small sizes where a pixel is wide, which
    // saves steps; tight for big renders)
    float eps = clamp(2.5 / iResolution.y, 0.004, 0.02);
    float id = 0.0, o = 0.0, d = 0.0;
    bool hit = false;
    // 32 steps: most rays hit within ~8; the rare ones still going graze a silhouette and are
    // shaded where they stopped
    for (int i = 0; i < 32; i++) {
        if (t > tmax) break;
        vec3 p = ro + rd * t;
        o = sdf_raymarch_objects(p, id);
        d = smin(o, p.y + 1.0, k);
        hit = d < eps * t || i == 31;
        if (hit) break;
        t += o > 0.25 * k + 0.01 ? max(d, min(o - 0.25 * k, tp - t)) : d;
    }
    vec3 col = sky;
    if (hit) {
        vec3 p = ro + rd * t;
        bool floor_ = p.y + 1.0 < o - 0.5 * k;
        // forward-difference normal: 3 extra samples, reusing d (the distance at p) from the
        // loop; plain floor far from any object just points up (skips the samples there)
        vec3 n = vec3(0.0, 1.0, 0.0);
        if (o < k + 0.05) {
            const float h = 0.01;
            n = normalize(vec3(0.0, 1e-6, 0.0) + vec3(sdf_raymarch_scene(p + vec3(h, 0, 0), k),
                sdf_raymarch_scene(p + vec3(0, h, 0), k), sdf_raymarch_scene(p + vec3(0, 0, h), k)) - d);
        }
        vec3 ld = normalize(vec3(cos(TAU * e.w), 0.8, sin(TAU * e.w)));
        float dif = max(dot(n, ld), 0.0);
        float spec = pow(max(dot(reflect(rd, n), ld), 0.0), 24.0);
        float checker = mod(floor(p.x) + floor(p.z), 2.0);
        // floor: checkerboard, darkened near objects as a cheap contact shadow
        vec3 alb = floor_ ? palette(0.45 + 0.15 * checker, b) * 0.6 * (0.4 + 0.6 * clamp(o, 0.0, 1.0))
                          : palette(id, a);
        col = alb * (0.25 + 0.75 * dif) + 0.4 * spec + 0.15 * n.y * sky;
        col = mix(col, sky, smoothstep(5.0, 16.0, t));   // fog into the sky colour
    }
    fragColor = vec4(col, 1.0);
}
