// family: lissajous
// summary: glowing neon curves on a dim gradient: Lissajous figures and nested (1-3) roses / limacons, coloured along the curve
// params: p0 curve kind/frequencies/copies, p1 phases/limacon offset/colour cycles, p2 palette, p3 glow width/line width/background/scale
// Distances come from the curves' equations instead of a sampled polyline (cheaper, and smooth
// at any resolution). Each loop iteration handles one candidate curve parameter:
//  - Lissajous x = A sin(fa s + ph), y = A sin(fb s + ps): the roots of x(s) = p.x in one period
//    (2*fa of them, via asin) give curve points level with the pixel, likewise for y; the
//    nearest of these is within sqrt(2) of the true distance.
//  - rose / limacon r = f(theta): every turn and sign of the angle is a candidate, with the
//    first-order distance |rho - f| / sqrt(1 + (f'/rho)^2).
// Both kinds share one loop (one sin/cos per iteration) because llvmpipe pays for every branch.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], q = iParams[2], c = iParams[3];
    vec2 p = centered(fragCoord) / (0.75 + 0.2 * c.w);
    bool lis = a.x < 0.5;
    float ph = TAU * b.x + 0.3 * iTime;
    // Lissajous setup.
    const float A = 0.9;
    float fa = 1.0 + floor(a.y * 3.0), fb = 1.0 + floor(a.z * 3.0), ps = TAU * b.y;
    vec2 cl = clamp(p / A, -1.0, 1.0);
    float ax = asin(cl.x), ay = asin(cl.y);
    // Rose setup: r = sc (e + (1 - e) cos(k theta + ph)), k = n / den.
    float rho = length(p), th0 = atan(p.y, p.x);
    float den = 1.0 + floor(a.z * 2.0);
    float k = (1.0 + floor(a.y * 6.0)) / den;
    float e = b.y < 0.5 ? 0.0 : (b.y - 0.5) * 1.2;
    int per = 2 * int(den);                            // turns x sign per nested copy (2 or 4)
    int perShift = per == 2 ? 1 : 2;                   // shifts/masks: SIMD integer division is slow
    int nx = 2 * int(fa);
    int terms = lis ? 2 * int(fa + fb) : per * (1 + int(a.w * 3.0));
    float d = 1e9, sAt = 0.0;
    for (int i = 0; i < 12; i++) {
        if (i >= terms) break;
        // Lissajous candidate i: x-roots first, then y-roots; even i = asin branch, odd = PI - asin.
        bool xs = i < nx;
        int ii = xs ? i : i - nx;
        float br = float(ii & 1), kk = TAU * float(ii >> 1);
        float s = xs ? (mix(ax, PI - ax, br) - ph + kk) / fa : (mix(ay, PI - ay, br) - ps + kk) / fb;
        // Rose candidate i: copy j (shrunk, turned), turn / sign from i % per.
        float j = float(i >> perShift);
        float sc = 0.92 * (1.0 - 0.22 * j);
        float tt = th0 + j * (0.3 + b.x) + 0.2 * iTime + PI * float(i & (per - 1));
        float arg = lis ? (xs ? fb * s + ps : fa * s + ph) : k * tt + ph;
        float cs = cos(arg), sn = sin(arg);
        vec2 pt = A * (xs ? vec2(cl.x, sn) : vec2(sn, cl.y));
        float sg = (i & 1) == 0 ? 1.0 : -1.0;
        float f = sc * (e + (1.0 - e) * cs), fp = -sc * (1.0 - e) * k * sn;
        // Squared distances, one division, a single sqrt after the loop.
        vec2 dp = p - pt;
        float gap = rho - sg * f;
        float dd = lis ? dot(dp, dp) : gap * gap * rho * rho / (rho * rho + fp * fp + 1e-6);
        float at = lis ? s / TAU : tt / TAU + 0.3 * j;
        sAt = dd < d ? at : sAt;
        d = min(d, dd);
    }
    d = sqrt(d);
    float lw = 0.006 + 0.02 * c.y;
    // Integer colour cycles per turn keep the colour continuous where s wraps.
    vec3 lineCol = palette(q.w + 0.8 * (0.5 - 0.5 * cos(TAU * sAt * floor(1.0 + 3.0 * b.w))), q);
    vec3 bg = palette(0.3 * rho + c.z, q.zyxw) * (0.15 + 0.25 * c.z);
    float gw = 0.03 + 0.12 * c.x;                     // glow radius
    // Glow colour depends on distance only (no seams where the nearest branch changes).
    vec3 glowCol = palette(q.w + 0.2 + d * 1.5, q.yxzw);
    vec3 col = bg + glowCol * (gw / (d + gw)) * 0.7;
    col = mix(col, mix(lineCol, vec3(1.0), 0.35), 1.0 - smoothstep(lw, lw * 2.5 + 0.01, d));
    fragColor = vec4(col, 1.0);
}
