// family: wood_grain
// summary: planks of wood-like grain: growth rings warped by noise and knots, fine oriented fibres and streaks, in natural or unnatural palettes
// params: p0 grain direction/ring frequency/ring warp, p1 knot position/strength/fibre amount, p2 palette, p3 plank layout/latewood sharpness/natural-vs-palette/offset
// A board cut along a log shows rings as level sets of distance to the log's axis; here that is
// sqrt(y^2 + depth^2), bent by low-frequency noise and pulled around a knot. Fibres are value
// noise stretched ~25x along the grain (a cheap Gabor-like oriented texture).
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], q = iParams[2], c = iParams[3];
    vec2 p = rot(TAU * a.x) * centered(fragCoord);
    // Planks: split across the grain into 1..4 boards, each with its own log offset.
    float boards = 1.0 + floor(c.x * 4.0);
    float bi = floor((p.y * 0.5 + 0.5 + 2.0) * boards);
    vec3 bh = hash32(vec2(bi, 13.0 + floor(c.w * 100.0)));
    vec2 w = p + vec2(bh.x * 20.0 + 0.02 * iTime, 0.0);
    float depth = 0.1 + 0.6 * bh.y;
    // Knot: an isotropic bump that rings wrap around.
    vec2 kp = (b.xy - 0.5) * vec2(2.0, 1.2) + vec2(bh.z - 0.5, 0.0);
    float kd = length((p - kp) * vec2(1.0, 1.6));
    float knot = b.z * exp(-kd * kd * 14.0);
    float warp = a.z * 0.4 * gnoise(w * vec2(0.6, 2.2) + bh.xy * 9.0);
    float r = length(vec2(w.y + (bh.z - 0.5) * 1.5, depth)) + warp - 0.3 * knot;
    float u = r * (4.0 + 18.0 * a.y);
    float ring = fract(u);
    // Latewood: a sharp dark edge at the end of each yearly ring.
    float sharp = 2.0 + 12.0 * c.y;
    float late = pow(ring, sharp);
    float fib = vnoise(vec2(w.x * 3.0, w.y * 75.0)) - 0.5;
    float streak = vnoise(vec2(w.x * 0.8, w.y * 14.0));
    float t = 0.55 - 0.45 * late + b.w * 0.35 * fib + 0.2 * (streak - 0.5) + 0.25 * knot;
    // Natural browns or a param palette (about half the images).
    vec3 woodA = vec3(0.80, 0.58, 0.35), woodB = vec3(0.36, 0.20, 0.09);
    vec3 nat = mix(woodB, woodA, clamp(t, 0.0, 1.0)) * (0.7 + 0.6 * bh.yxz * vec3(1.0, 0.9, 0.8));
    vec3 pal = palette(t * (0.5 + 0.5 * q.w) + bh.x * 0.3, q);
    vec3 col = mix(nat, pal, step(0.45, c.z));
    // Dark seams between boards.
    float fy = fract((p.y * 0.5 + 0.5 + 2.0) * boards);
    col *= boards > 1.0 ? smoothstep(0.0, 0.03, min(fy, 1.0 - fy)) * 0.4 + 0.6 : 1.0;
    fragColor = vec4(col, 1.0);
}
