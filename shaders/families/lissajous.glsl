// family: lissajous
// summary: glowing Lissajous, rose and damped harmonograph curves on a dim gradient, coloured along the curve
// params: p0 curve type/frequency ratios/extra harmonic, p1 phases/damping/colour cycles, p2 palette, p3 glow/line width/background/scale
// All three curve kinds are written as x = A1 cos(w1 s+f1) + A2 cos(w2 s+f2), y = B1 sin(w3 s+g1) +
// B2 sin(w4 s+g2), times a damping exp(-lambda s) (a rose r = cos(k s) expands into exactly this
// form). Each harmonic is advanced by a fixed complex rotation per sample, so the 48-sample loop
// needs no trig. Per pixel: nearest distance to the polyline (sharp core) and a sum of
// Lorentzian falloffs over segments (glow, brighter where the curve crowds).
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], q = iParams[2], c = iParams[3];
    vec2 p = centered(fragCoord) / (0.75 + 0.2 * c.w);
    int kind = int(a.x * 3.0);
    float ph = TAU * b.x + 0.3 * iTime;
    vec4 w, f, amp;                                   // (x1, x2, y1, y2) harmonics
    float span = TAU, damp = 0.0;
    if (kind == 0) {                                  // Lissajous with an optional weak overtone
        float fx = 1.0 + floor(a.y * 5.0), fy = 1.0 + floor(a.z * 5.0);
        w = vec4(fx, 3.0 * fx, fy, 2.0 * fy);
        f = vec4(ph, ph * 2.0, TAU * b.y, 0.0);
        amp = vec4(1.0, 0.3 * a.w, 1.0, 0.3 * a.w) / (1.0 + 0.3 * a.w);
    } else if (kind == 1) {                           // rose r = cos(k s), k = n / d
        float d = 1.0 + floor(a.z * 2.0);
        float k = (1.0 + floor(a.y * 5.0)) / d;
        w = vec4(k + 1.0, k - 1.0, k + 1.0, k - 1.0);
        f = vec4(ph);
        amp = vec4(0.5, 0.5, 0.5, -0.5);
        span = TAU * d;
    } else {                                          // damped harmonograph, slightly detuned
        float f1 = 1.0 + floor(a.y * 3.0), f2 = f1 + 0.03 + 0.1 * a.w;
        w = vec4(f1, 2.0 * f2, f2, 2.0 * f1);
        f = vec4(ph, TAU * b.w, TAU * b.y, 0.2 * iTime);
        amp = vec4(0.6, 0.4, 0.6, 0.4);
        span = TAU * 2.0;
        damp = 0.05 + 0.15 * b.z;
    }
    const float N = 48.0;
    float ds = span / N;
    // Rotators: z = (cos, sin) of each harmonic's phase; stepped by rotation matrices.
    vec2 z0 = vec2(cos(f.x), sin(f.x)), z1 = vec2(cos(f.y), sin(f.y));
    vec2 z2 = vec2(cos(f.z), sin(f.z)), z3 = vec2(cos(f.w), sin(f.w));
    mat2 r0 = rot(w.x * ds), r1 = rot(w.y * ds), r2 = rot(w.z * ds), r3 = rot(w.w * ds);
    float decay = exp(-damp * ds), env = 1.0;
    vec2 prev = vec2(amp.x * z0.x + amp.y * z1.x, amp.z * z2.y + amp.w * z3.y);
    float dmin = 1e9, glow = 0.0, sAt = 0.0;
    for (int i = 1; i <= 48; i++) {
        z0 = r0 * z0; z1 = r1 * z1; z2 = r2 * z2; z3 = r3 * z3;
        env *= decay;
        vec2 cur = env * vec2(amp.x * z0.x + amp.y * z1.x, amp.z * z2.y + amp.w * z3.y);
        vec2 e = cur - prev, v = p - prev;
        float h = clamp(dot(v, e) / max(dot(e, e), 1e-8), 0.0, 1.0);
        vec2 dv = v - e * h;
        float d2 = dot(dv, dv);
        if (d2 < dmin) { dmin = d2; sAt = (float(i) - 1.0 + h) / N; }
        glow += 1.0 / (1.0 + 400.0 * d2);
        prev = cur;
    }
    dmin = sqrt(dmin);
    float lw = 0.006 + 0.02 * c.y;
    vec3 lineCol = palette(sAt * (1.0 + 2.0 * b.w) + q.w, q);
    vec3 bg = palette(0.3 * length(p) + c.z, q.zyxw) * (0.15 + 0.25 * c.z);
    vec3 col = bg + lineCol * glow * (0.03 + 0.08 * c.x);
    col += mix(lineCol, vec3(1.0), 0.5) * (1.0 - smoothstep(lw, lw * 2.5 + 0.01, dmin));
    fragColor = vec4(col, 1.0);
}
