// family: log_spirals
// summary: logarithmic spiral arms (one or two crossing sets) winding into a centre, zooming with time, coloured by arm and radius
// params: p0 arm counts/pitch/centre, p1 second set/chirality/arm width, p2 palette, p3 zoom speed/rotation/shading
// A log spiral r = exp(k*theta) is a straight line in (log r, theta), so arms are bands of
// u = theta*n/TAU + log(r)*pitch; self-similar, so the time zoom (log r shift) loops forever.
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], q = iParams[2], c = iParams[3];
    vec2 p = centered(fragCoord) - (a.zw - 0.5) * 0.8;
    float lr = log(length(p) + 1e-5) - iTime * (0.1 + 0.4 * c.x);
    float th = atan(p.y, p.x) + c.y * TAU;
    // Arm colours use floor(u) mod n: u jumps by exactly n across atan's branch cut, so no seam.
    float n1 = 1.0 + floor(a.x * 8.0);                 // arms in the first set
    float k1 = (0.5 + 3.0 * a.y) * (b.y < 0.5 ? 1.0 : -1.0);
    float u1 = th * n1 / TAU + lr * k1;
    float w = 0.15 + 0.7 * b.z;                        // duty cycle of an arm
    float arm1 = smoothstep(w - 0.08, w + 0.08, 0.5 + 0.5 * cos(TAU * u1));
    // Optional second set with opposite chirality (sunflower / daisy crossing look).
    float n2 = 1.0 + floor(b.x * 10.0);
    float u2 = th * n2 / TAU - lr * k1 * (0.6 + 0.8 * b.w);
    float arm2 = smoothstep(w - 0.08, w + 0.08, 0.5 + 0.5 * cos(TAU * u2));
    float two = step(0.45, b.x);
    vec3 cA = palette(mod(floor(u1), n1) / n1 * 0.5 + lr * 0.08 * c.z + q.w, q);
    vec3 cB = palette(mod(floor(u2), n2) / n2 * 0.5 + 0.5 + q.w, q);
    vec3 bg = palette(lr * 0.15 + 0.25, q.yzxw) * 0.35;
    vec3 col = mix(bg, cA, arm1);
    col = mix(col, mix(cB, cA * cB * 1.5, arm1), arm2 * two * 0.85);
    // Shading along each arm: brighter at the arm centre line.
    col *= 0.7 + 0.3 * cos(TAU * u1 * 2.0) * c.w + 0.3 * (1.0 - c.w);
    fragColor = vec4(col, 1.0);
}
