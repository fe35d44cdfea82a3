// family: halftone
// summary: print-style halftone: three rotated dot screens (CMY-like inks on paper) whose dot sizes follow a smooth underlying image
// params: p0 dot pitch/screen angle/field scale, p1 field shape (noise vs sine, offsets), p2 ink palette, p3 paper tint/dot shape/screen count
// Dot radius of each screen ~ sqrt(ink coverage) so area tracks the field, as in real halftoning.

// Underlying continuous-tone channel (0..1) sampled at a dot centre.
float halftone_field(vec2 p, vec4 b, float ch, float t) {
    vec2 o = vec2(ch * 3.1, ch * 1.7);
    float n = 0.5 + 0.9 * gnoise(p * (0.8 + 1.5 * b.x) + o + b.zw * 20.0 + 0.1 * t);
    float s = 0.5 + 0.5 * sin(p.x * (2.0 + 3.0 * b.y) + ch * 2.1 + t) * cos(p.y * (1.5 + 2.0 * b.z) - ch);
    return smoothstep(0.1, 0.9, mix(n, s, b.w));   // stretch contrast: full range of dot sizes
}

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], q = iParams[2], c = iParams[3];
    vec2 p = centered(fragCoord) * (0.8 + 1.2 * a.z);
    float pitch = 0.13 + 0.2 * a.x;                 // dot spacing in centred units
    vec3 paper = mix(vec3(0.97, 0.95, 0.9), palette(c.x, q.wzyx), 0.45 * c.x);
    vec3 col = paper;
    int screens = 1 + int(c.z * 3.0);                // 1..3 ink screens
    // Inks: one palette colour and its channel rotations (as C, M, Y are of each other).
    vec3 ink0 = 0.1 + 0.9 * palette(q.w, q);
    ink0 *= min(1.0, 0.55 / dot(ink0, vec3(0.3, 0.5, 0.2)));  // keep inks darker than paper
    mat2 r = rot(TAU * a.y);
    const mat2 step30 = mat2(0.8660254, 0.5, -0.5, 0.8660254);  // classic ~30 degree screen offsets
    for (int i = 0; i < 3; i++) {
        if (i >= screens) break;
        float fi = float(i);
        vec2 g = r * p / pitch + fi * 0.33;
        vec2 cell = floor(g) + 0.5;
        vec2 centre = transpose(r) * (cell - fi * 0.33) * pitch; // dot centre back in image space
        float v = halftone_field(centre, b, fi, iTime);
        vec2 d = g - cell;
        // Dot shape: blend between round (L2) and diamond (L1) metric.
        float dist = mix(length(d), (abs(d.x) + abs(d.y)) * 0.75, c.y);
        float rad = 0.72 * sqrt(0.9 * v);
        float cover = 1.0 - smoothstep(rad - 0.06, rad + 0.06, dist);
        vec3 ink = i == 0 ? ink0 : (i == 1 ? ink0.gbr : ink0.brg);
        // Multiply inks like overprinted transparent ink.
        col *= mix(vec3(1.0), ink, cover);
        r = step30 * r;
    }
    fragColor = vec4(col, 1.0);
}
