// family: lissajous
// summary: glowing neon curves on a dim gradient: Lissajous figures, nested roses and nested superformula stars, coloured along the curve
// params: p0 curve kind/frequencies/copies, p1 phases/shape exponents/colour cycles, p2 palette, p3 glow width/line width/background/scale
// Distances are computed from the curves' equations instead of a sampled polyline (far cheaper,
// and smooth at any resolution):
//  - Lissajous x = A sin(fa s + ph), y = A sin(fb s + ps): solve x(s) = p.x for all s in one
//    period (2*fa roots via asin), measure |p - curve(s)|, and likewise for y; the minimum is
//    within sqrt(2) of the true distance.
//  - polar curves r = f(theta): first-order distance |rho - f| / sqrt(1 + (f'/rho)^2).

float lissajous_super(float th, float m, vec3 n) {
    float u = 0.25 * m * th;
    return pow(pow(abs(cos(u)), n.y) + pow(abs(sin(u)), n.z), -1.0 / n.x);
}

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], q = iParams[2], c = iParams[3];
    vec2 p = centered(fragCoord) / (0.75 + 0.2 * c.w);
    int kind = int(a.x * 3.0);
    float ph = TAU * b.x + 0.3 * iTime;
    float d = 1e9, sAt = 0.0;
    if (kind == 0) {
        float fa = 1.0 + floor(a.y * 5.0), fb = 1.0 + floor(a.z * 5.0);
        float ps = TAU * b.y;
        const float A = 0.9;
        float ax = asin(clamp(p.x / A, -1.0, 1.0));
        float ay = asin(clamp(p.y / A, -1.0, 1.0));
        for (int k = 0; k < 5; k++) {
            float fk = TAU * float(k);
            if (float(k) < fa) {
                for (int br = 0; br < 2; br++) {      // asin's two branches: al and PI - al
                    float s = ((br == 0 ? ax : PI - ax) - ph + fk) / fa;
                    float dd = length(p - A * vec2(clamp(p.x / A, -1.0, 1.0), sin(fb * s + ps)));
                    sAt = dd < d ? s : sAt; d = min(d, dd);
                }
            }
            if (float(k) < fb) {
                for (int br = 0; br < 2; br++) {
                    float s = ((br == 0 ? ay : PI - ay) - ps + fk) / fb;
                    float dd = length(p - A * vec2(sin(fa * s + ph), clamp(p.y / A, -1.0, 1.0)));
                    sAt = dd < d ? s : sAt; d = min(d, dd);
                }
            }
        }
        sAt /= TAU;
    } else {
        // Nested copies (1..4), each shrunk and turned a little: a harmonograph-like stack.
        int copies = 1 + int(a.w * 4.0);
        float rho = length(p), th0 = atan(p.y, p.x);
        float k = (1.0 + floor(a.y * 6.0)) / (1.0 + floor(a.z * 2.0));  // rose k = n / d
        float m = 2.0 + floor(a.y * 9.0);                                  // superformula symmetry
        vec3 n = vec3(0.5 + 3.0 * b.y, 0.5 + 5.0 * b.z, 0.5 + 5.0 * b.z);
        if (b.w > 0.5 && mod(m, 2.0) == 0.0) n.z = 0.5 + 5.0 * fract(b.z * 7.0);
        float rmax = exp2(max(0.5 * max(n.y, n.z) - 1.0, 0.0) / n.x);   // bound to fit the frame
        for (int j = 0; j < 4; j++) {
            if (j >= copies) break;
            float sc = 0.92 * (1.0 - 0.22 * float(j));
            float th = th0 + float(j) * (0.3 + b.x) + 0.2 * iTime;
            if (kind == 1) {
                // Roses with d = 2 close after two turns; negative r draws the opposite petals.
                for (int t = 0; t < 4; t++) {
                    if (t >= 2 * int(1.0 + floor(a.z * 2.0))) break;
                    float tt = th + PI * float(t);
                    float sg = (t & 1) == 0 ? 1.0 : -1.0;
                    float f = sc * cos(k * tt + ph), fp = -sc * k * sin(k * tt + ph);
                    float dd = abs(rho - sg * f) / sqrt(1.0 + fp * fp / max(rho * rho, 1e-4));
                    sAt = dd < d ? tt / TAU + 0.3 * float(j) : sAt; d = min(d, dd);
                }
            } else {
                float f = sc * lissajous_super(th, m, n) / rmax;
                float fp = (sc * lissajous_super(th + 0.01, m, n) / rmax - f) * 100.0;
                f = min(f, 3.0); fp = clamp(fp, -50.0, 50.0);
                float dd = abs(rho - f) / sqrt(1.0 + fp * fp / max(rho * rho, 1e-4));
                sAt = dd < d ? th / TAU + 0.3 * float(j) : sAt; d = min(d, dd);
            }
        }
    }
    float lw = 0.006 + 0.02 * c.y;
    vec3 lineCol = palette(sAt * (1.0 + 2.0 * b.w) + q.w, q);
    vec3 bg = palette(0.3 * length(p) + c.z, q.zyxw) * (0.15 + 0.25 * c.z);
    float gw = 0.03 + 0.12 * c.x;                     // glow radius
    // Glow colour depends on distance only (no seams where the nearest branch changes).
    vec3 glowCol = palette(q.w + 0.2 + d * 1.5, q.yxzw);
    vec3 col = bg + glowCol * (gw / (d + gw)) * 0.7;
    col = mix(col, mix(lineCol, vec3(1.0), 0.35), 1.0 - smoothstep(lw, lw * 2.5 + 0.01, d));
    fragColor = vec4(col, 1.0);
}
