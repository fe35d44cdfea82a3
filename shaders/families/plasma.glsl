// family: plasma
// summary: classic sum-of-sines plasma: smooth interfering colour waves, optionally posterised
// params: p0 frequencies, p1 wave directions/centres, p2 palette, p3 contrast/bands/posterise/speed
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], q = iParams[2], c = iParams[3];
    vec2 p = centered(fragCoord) * (0.8 + 1.7 * a.w);
    float t = iTime * (0.3 + 1.2 * c.w);
    // Four waves: two planar (param directions), one radial about a moving centre,
    // one along a rotated diagonal; their sum is the classic plasma field.
    vec2 d1 = vec2(cos(TAU * b.x), sin(TAU * b.x));
    vec2 d2 = vec2(cos(TAU * b.y), sin(TAU * b.y));
    vec2 ctr = (b.zw - 0.5) * 1.5 + 0.4 * vec2(sin(t * 0.7), cos(t * 0.9));
    float v = sin(dot(p, d1) * (1.5 + 4.0 * a.x) + t);
    v += sin(dot(p, d2) * (1.5 + 4.0 * a.y) - 1.3 * t);
    v += sin(length(p - ctr) * (2.0 + 6.0 * a.z) - 0.8 * t);
    v += sin(length(p + ctr.yx) * (1.5 + 4.0 * b.w) + 1.1 * t + sin(p.x * 3.0 + t));
    v *= 0.25;
    float k = 0.35 + 1.1 * c.x;                      // how many palette cycles the field spans
    float tt = v * k + c.y * 3.0;
    // Posterise about a third of the time (c.z > 0.65) into 4..12 flat bands.
    float levels = 4.0 + floor(8.0 * fract(c.z * 7.0));
    if (c.z > 0.65) tt = floor(tt * levels) / levels;
    vec3 col = palette(tt, q);
    col *= 0.75 + 0.25 * sin(v * 3.0 + q.w * TAU);  // secondary shading ripple
    fragColor = vec4(col, 1.0);
}
