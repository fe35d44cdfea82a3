// family: sdf_raymarch
// summary: raymarched 3D scenes: fields of repeated blobby spheres/boxes/tori melted into a ground plane, or a floating cluster, lit with fog and sky
// params: p0 object palette; p1 sky/ground palette; p2.x primitive mix, p2.y repetition spacing, p2.z smooth-union radius, p2.w scene mode (field/cluster); p3.x camera azimuth, p3.y camera height, p3.z camera distance/fov, p3.w light direction

// Distance to the objects only (the floor y = -1 is handled analytically in mainImage);
// id returns a per-object value in [0, 1) for colouring. Objects stay below y = 2.3.
float sdf_raymarch_objects(vec3 p, out float id) {
    vec4 c = iParams[2];
    if (c.w < 0.6) {
        // infinite field: one object per cell, size and height varying per cell
        float sp = mix(2.2, 4.0, c.y);
        vec2 cell = floor(p.xz / sp + 0.5);
        vec3 q = vec3(p.x - cell.x * sp, p.y, p.z - cell.y * sp);
        vec3 h = hash32(cell + 31.0 * c.x);
        float r = mix(0.45, 0.8, h.x) * sp * 0.4;   // stays inside its cell: no overstepping
        q.y -= -1.0 + r * 0.6 + h.y * 0.6;
        id = fract(h.x * 3.1 + h.z);
        int kind = int(c.x * 4.0);                  // one primitive type per image
        if (kind == 0) return length(q) - r;
        if (kind == 1) {
            vec3 e = abs(q) - vec3(r * 0.7);
            return length(max(e, 0.0)) + min(max(e.x, max(e.y, e.z)), 0.0) - r * 0.2;
        }
        if (kind == 2) return length(vec2(length(q.xz) - r * 0.75, q.y)) - r * 0.3;
        return length(vec2(length(q.xz), max(abs(q.y) - r, 0.0))) - r * 0.45;  // capsule column
    }
    // floating cluster of three blobs smoothly merged
    float t = iTime * 0.3;
    float s1 = length(p - vec3(0.6 * sin(t), 0.2, 0.0)) - 0.6;
    float s2 = length(p - vec3(-0.5, 0.5 + 0.3 * cos(t * 1.3), 0.4)) - 0.45;
    vec3 p3 = p - vec3(0.0, -0.2, -0.6 + 0.3 * sin(t * 0.7));
    float b3 = length(max(abs(p3) - vec3(0.4), 0.0)) - 0.1;
    float k = mix(0.1, 0.6, c.z);
    id = clamp(0.5 + 0.5 * (s1 - b3), 0.0, 1.0);
    return smin(smin(s1, s2, k), b3, k);
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
    float dist = mix(3.5, 7.0, e.z);
    // in the object field the camera stays above the tallest objects
    vec3 ro = vec3(dist * cos(az), c.w < 0.6 ? mix(2.4, 4.5, e.y) : mix(0.6, 3.5, e.y), dist * sin(az));
    vec3 ta = vec3(0.0, -0.4, 0.0);
    vec3 fw = normalize(ta - ro);
    vec3 rt = normalize(cross(fw, vec3(0.0, 1.0, 0.0)));
    vec3 up = cross(rt, fw);
    vec3 rd = normalize(fw * mix(1.2, 2.2, e.z) + uv.x * rt + uv.y * up);
    float k = mix(0.05, 0.7, c.z);

    vec3 sky = mix(palette(0.2, b), palette(0.7, b) * 0.6, clamp(rd.y * 1.5 + 0.3, 0.0, 1.0));
    // The smooth union is >= min(objects, floor) - k/4, so away from objects a step may run
    // straight to the plane y = -1 + k/4 (exact along the ray) instead of creeping toward the
    // floor at grazing angles. Rays start where they enter the slab below y = 2.3.
    float yb = -1.0 + 0.25 * k;
    float tp = rd.y < -1e-4 ? (ro.y - yb) / -rd.y : 1e9;
    float t = rd.y < -1e-4 ? max(0.0, (ro.y - 2.3) / -rd.y) : 0.0;
    float tmax = min(tp + 1.0, 25.0);
    float id = 0.0;
    bool hit = false;
    for (int i = 0; i < 64; i++) {
        if (t > tmax) break;
        vec3 p = ro + rd * t;
        float o = sdf_raymarch_objects(p, id);
        float d = smin(o, p.y + 1.0, k);
        if (d < 0.003 * t) { hit = true; break; }
        t += o > 0.25 * k + 0.01 ? max(d, min(o - 0.25 * k, tp - t)) : d;
    }
    vec3 col = sky;
    if (hit) {
        vec3 p = ro + rd * t;
        float o = sdf_raymarch_objects(p, id);
        bool floor_ = p.y + 1.0 < o - 0.5 * k;
        // normal from a tetrahedron of 4 samples (cheaper than 6 central differences)
        vec2 h = vec2(0.01, -0.01);
        vec3 n = normalize(vec3(0.0, 1e-7, 0.0) + h.xyy * sdf_raymarch_scene(p + h.xyy, k) + h.yyx * sdf_raymarch_scene(p + h.yyx, k)
                         + h.yxy * sdf_raymarch_scene(p + h.yxy, k) + h.xxx * sdf_raymarch_scene(p + h.xxx, k));
        vec3 ld = normalize(vec3(cos(TAU * e.w), 0.8, sin(TAU * e.w)));
        float dif = max(dot(n, ld), 0.0);
        float spec = pow(max(dot(reflect(rd, n), ld), 0.0), 24.0);
        float checker = mod(floor(p.x) + floor(p.z), 2.0);
        // floor: checkerboard, darkened near objects as a cheap contact shadow
        vec3 alb = floor_ ? palette(0.45 + 0.15 * checker, b) * 0.6 * (0.4 + 0.6 * clamp(o, 0.0, 1.0))
                          : palette(id, a);
        col = alb * (0.25 + 0.75 * dif) + 0.4 * spec + 0.15 * n.y * sky;
        col = mix(col, sky, smoothstep(8.0, 25.0, t));   // fog into the sky colour
    }
    fragColor = vec4(col, 1.0);
}
