// family: mandelbrot
// summary: Mandelbrot-set zooms near the boundary (spirals, seahorses, minibrots, filaments) with smooth iteration colouring
// params: p0 palette; p1.x location (named spot or point on cardioid/bulb boundary), p1.y zoom depth, p1.z rotation, p1.w small pan; p2.x colour cycles, p2.y interior style, p2.z palette offset, p2.w banding; p3.x boundary angle, p3.y nudge off the boundary, p3.z escape-angle stripes

// Known boundary neighbourhoods worth zooming into (approximate coordinates).
vec2 mandelbrot_spot(int i) {
    if (i == 0) return vec2(-0.743644, 0.131826);   // seahorse valley
    if (i == 1) return vec2(0.286932, 0.014287);    // elephant valley
    if (i == 2) return vec2(-0.088, 0.654);         // triple-spiral valley
    if (i == 3) return vec2(-1.768779, -0.001739);  // minibrot on the antenna
    if (i == 4) return vec2(-0.101096, 0.956287);   // near the tip at +i
    if (i == 5) return vec2(-0.774681, -0.137417);  // double spirals
    if (i == 6) return vec2(-1.25066, 0.02012);     // between period-2 bulb and antenna
    if (i == 7) return vec2(0.432540, 0.226119);    // outer filaments
    if (i == 8) return vec2(-0.235125, 0.827215);   // top bulb chain
    return vec2(-1.543689, 0.0);                    // Misiurewicz point on the real axis
}

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], c = iParams[2], d = iParams[3];
    vec2 center;
    float depth;
    if (b.x < 0.55) {
        center = mandelbrot_spot(int(b.x / 0.55 * 10.0));
        depth = mix(0.3, 3.2, b.y);
    } else {
        // a point on the main cardioid c = e^{it}/2 - e^{2it}/4 or the period-2 bulb
        // c = -1 + e^{it}/4: every angle gives a different chain of bulbs
        float th = TAU * fract(d.x + 3.7 * b.x);
        vec2 e1 = vec2(cos(th), sin(th));
        vec2 e2 = vec2(cos(2.0 * th), sin(2.0 * th));
        center = b.x < 0.8 ? 0.5 * e1 - 0.25 * e2 : vec2(-1.0, 0.0) + 0.25 * e1;
        center *= 1.0 + 0.01 * (d.y - 0.5);        // nudge just outside/inside the boundary
        depth = mix(0.4, 1.8, b.y);
    }
    // slow zoom with time (shallow, so a still frame stays near the chosen spot)
    float scale = pow(10.0, -depth) * exp(-0.08 * iTime);
    vec2 uv = rot(TAU * b.z + 0.05 * iTime) * centered(fragCoord);
    vec2 cc = center + scale * (uv + (b.w - 0.5) * vec2(0.6, 0.4));

    // points inside the main cardioid or the period-2 bulb never escape: iterate them only long
    // enough to colour the interior (saves most of the cost on interior-heavy views)
    vec2 q = cc - vec2(0.25, 0.0);
    float qq = dot(q, q);
    bool inside = qq * (qq + q.x) <= 0.25 * cc.y * cc.y || dot(cc + vec2(1.0, 0.0), cc + vec2(1.0, 0.0)) <= 0.0625;
    int maxIt = inside ? 24 : 96;

    vec2 z = vec2(0.0);
    float it = 0.0, trap = 1e9;
    bool escaped = false;
    for (int i = 0; i < 96; i++) {
        if (i >= maxIt) break;
        z = vec2(z.x * z.x - z.y * z.y, 2.0 * z.x * z.y) + cc;
        float r2 = dot(z, z);
        trap = min(trap, min(abs(z.x), abs(z.y)));   // cross-shaped (stalk) orbit trap
        if (r2 > 256.0) { escaped = true; break; }
        it += 1.0;
    }
    vec3 col;
    if (escaped) {
        // smooth (continuous) iteration count: fractional part from how far past the escape
        // radius 16 = 2^4 the orbit landed (log2 |z| / 4 is in [1, 2))
        float sn = it - log2(log2(dot(z, z)) * 0.5 / 4.0);
        float t = sn * mix(0.02, 0.09, c.x) + c.z;
        col = palette(t, a);
        col *= mix(1.0, 0.6 + 0.4 * cos(sn * 1.5), c.w);   // optional banding
        // optional binary-decomposition-like stripes from the escape angle
        col *= mix(1.0, 0.75 + 0.25 * sign(z.y), d.z);
    } else {
        // interior: the orbit's closest approach to the axes (a cross-shaped trap) and its final
        // angle paint the bulbs with rays and stalks instead of flat black
        float t = sqrt(trap);
        float ang = atan(z.y, z.x) / TAU;
        col = palette(ang * mix(0.2, 1.0, c.y) + 3.0 * t + c.z + 0.5, a.wzyx) * mix(0.2, 0.8, c.y) * (0.3 + 2.0 * t);
    }
    fragColor = vec4(col, 1.0);
}
