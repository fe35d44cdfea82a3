// family: metaballs
// summary: 4-10 drifting metaballs: summed inverse-square fields shown as banded iso-contours, solid blobs and outer glow
// params: p0 blob count/size/spread, p1 motion frequencies/phases, p2 palette, p3 iso level/band count/style mix
// Field F = sum r_i^2 / |p - c_i|^2; the blob surface is F = iso. Colour comes from the
// field-weighted mean blob index, so merging blobs blend their colours.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], q = iParams[2], c = iParams[3];
    vec2 p = centered(fragCoord);
    int n = 4 + int(a.x * 7.0);
    float F = 0.0;
    float wt = 0.0;
    for (int i = 0; i < 10; i++) {
        if (i >= n) break;
        float fi = float(i);
        vec2 h = hash22(vec2(fi, 91.0 + floor(b.w * 500.0)));
        // Each blob moves on its own small Lissajous orbit.
        vec2 ctr = (h - 0.5) * (1.0 + 1.2 * a.z)
                 + 0.35 * vec2(sin(iTime * (0.3 + b.x) + TAU * h.y), cos(iTime * (0.2 + b.y) + TAU * h.x + b.z * 9.0));
        float r = (0.08 + 0.2 * a.y) * (0.6 + 0.8 * fract(h.x * 13.1));
        vec2 d = p - ctr;
        float f = r * r / (dot(d, d) + 1e-4);
        F += f;
        wt += f * fi;
    }
    // Field-weighted blob index -> palette: merging blobs blend through the palette between them.
    vec3 base = palette(wt / max(F, 1e-4) / float(n) * (0.5 + c.z) + q.w, q);
    float iso = 0.6 + 0.8 * c.x;
    float bands = 2.0 + floor(6.0 * c.y);
    // Iso-contours of log F: evenly spaced rings in and outside each blob.
    float lf = log(F) * bands / 2.0;
    float ring = abs(fract(lf) - 0.5) * 2.0;           // 0 on a contour, 1 between
    float inside = smoothstep(iso * 0.9, iso * 1.1, F);
    vec3 bg = palette(0.5 + 0.3 * p.y + q.w, q.zxyw) * 0.3;
    vec3 glow = base * sqrt(clamp(F / iso, 0.0, 1.0));
    vec3 col = bg + glow * 0.8;
    col = mix(col, base * (0.6 + 0.4 * ring), inside);
    // Style mix: c.w adds contour lines everywhere (topographic look).
    col *= 1.0 - c.w * 0.7 * (1.0 - smoothstep(0.0, 0.25, ring));
    fragColor = vec4(col, 1.0);
}
