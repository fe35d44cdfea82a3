// family: kaleidoscope
// summary: polar mirror kaleidoscopes with n-fold symmetry over a noise field or scattered shapes, like looking into a mirror tube
// params: p0 palette; p1.x fold count 3..16, p1.y source (noise/shapes/rings mix), p1.z zoom, p1.w source offset; p2.x source rotation/time spin, p2.y shape size, p2.z colour contrast, p2.w radial vignette; p3.x second fold (nested), p3.y palette span, p3.z hue by radius, p3.w noise octaves/gain

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], c = iParams[2], d = iParams[3];
    vec2 uv = centered(fragCoord);
    float n = floor(mix(3.0, 17.0, b.x));
    float seg = TAU / n;
    // polar mirror: fold the angle into one wedge and reflect alternate wedges
    float r = length(uv);
    float ang = atan(uv.y, uv.x) + 0.05 * iTime * (c.x - 0.5);
    ang = abs(mod(ang, seg) - 0.5 * seg);
    vec2 p = r * vec2(cos(ang), sin(ang));
    if (d.x > 0.6) {
        // nested fold: a second mirror about a shifted centre adds a ring of smaller flowers
        p.x -= 0.6;
        float r2 = length(p);
        float a2 = abs(mod(atan(p.y, p.x), seg * 2.0) - seg);
        p = r2 * vec2(cos(a2), sin(a2));
    }
    p = rot(TAU * c.x) * p * mix(1.5, 5.0, b.z) + 10.0 * b.w;

    // source image sampled in the wedge: fbm noise, a scatter of discs, or wavy rings
    float src = 0.0;
    float mode = b.y * 3.0;
    if (mode < 1.0) {
        src = fbm(p, 3 + int(d.w * 3.0), 0.5) * 1.6;
    } else if (mode < 2.0) {
        vec2 g = fract(p) - 0.5;
        vec2 o = hash22(floor(p)) - 0.5;
        float disc = length(g - 0.3 * o) - mix(0.1, 0.35, c.y);
        src = 1.0 - smoothstep(-0.05, 0.05, disc) + 0.4 * hash21(floor(p) + 3.0);
    } else {
        src = sin(length(p - 10.0 * b.w) * mix(4.0, 12.0, c.y) + 2.0 * gnoise(p)) * 0.8;
    }
    float t = src * mix(0.3, 1.0, d.y) + r * d.z + c.w * 0.3;
    vec3 col = palette(t, a);
    col = mix(vec3(dot(col, vec3(0.333))), col, mix(0.6, 1.3, c.z));   // saturation
    col *= 1.0 - c.w * 0.7 * smoothstep(0.3, 1.5, r);                    // vignette
    // thin bright mirror seams
    col += 0.15 * (1.0 - smoothstep(0.0, 0.01, ang * r));
    fragColor = vec4(col, 1.0);
}
