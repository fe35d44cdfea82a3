// family: ridged_marble
// summary: marble slabs with sharp ridged veins: sine bands displaced by turbulence, plus a ridged multifractal layer
// params: p0 vein direction/frequency/turbulence, p1 vein sharpness/ridge mix/octaves, p2 palette, p3 offset/scale/contrast
// Ridged octaves (1 - |noise|, squared, each weighted by the previous one) make crisp crests;
// the marble term is sin(x*f + k*turbulence) where turbulence sums |noise|.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], q = iParams[2], c = iParams[3];
    vec2 p = centered(fragCoord) * (0.7 + 2.0 * c.y) + (c.xw - 0.5) * 30.0 + 0.05 * iTime;
    int oct = 3 + int(b.z * 2.0);
    float turb = 0.0, ridge = 0.0, amp = 0.5, w = 1.0;
    vec2 s = p;
    for (int i = 0; i < 4; i++) {
        if (i >= oct) break;
        float n = gnoise(s);
        turb += amp * abs(n);
        float r = 1.0 - abs(n);
        r *= r * w;
        ridge += amp * r;
        w = clamp(r * 1.5, 0.0, 1.0);
        amp *= 0.5;
        s = rot(0.7) * s * 2.03 + 3.1;
    }
    vec2 dir = vec2(cos(TAU * a.x), sin(TAU * a.x));
    float m = sin(dot(p, dir) * (1.0 + 5.0 * a.y) + turb * (3.0 + 9.0 * a.z) + iTime * 0.2);
    float vein = pow(1.0 - abs(m), 2.0 + 14.0 * b.x);  // sharp bright/dark veins
    float body = mix(0.5 + 0.5 * m, ridge, b.y);
    vec3 stone = palette(body * (0.4 + 0.6 * c.z) + q.w, q);
    vec3 veinCol = palette(q.w + 0.5, q.zxyw) * (b.w < 0.5 ? 0.2 : 1.2);
    vec3 col = mix(stone, veinCol, clamp(vein, 0.0, 1.0));
    col *= 0.75 + 0.4 * ridge * b.y;
    fragColor = vec4(col, 1.0);
}
