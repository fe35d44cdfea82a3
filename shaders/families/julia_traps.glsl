// family: julia_traps
// summary: Julia sets z^2+c coloured by orbit traps (point, line, circle): glowing filaments, rings and dust
// params: p0 palette; p1.x c angle, p1.y c radius factor, p1.z trap type (point/line/circle/mix), p1.w trap size/position; p2.x zoom, p2.y rotation, p2.z pan, p2.w trap sharpness; p3.x escape-count tint, p3.y palette offset, p3.z trap line angle, p3.w background mix

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], c = iParams[2], d = iParams[3];
    // c just around the main cardioid boundary e^{it}/2 - e^{2it}/4, where Julia sets are most
    // intricate (connected just inside, dust just outside); it drifts slowly with time
    float th = TAU * b.x + 0.03 * iTime;
    vec2 cb = 0.5 * vec2(cos(th), sin(th)) - 0.25 * vec2(cos(2.0 * th), sin(2.0 * th));
    vec2 jc = cb * mix(0.96, 1.06, b.y);

    float zoom = mix(1.6, 0.4, c.x * c.x);
    vec2 z = rot(TAU * c.y) * centered(fragCoord) * zoom + 0.3 * (c.z - 0.5) * vec2(1.0, -0.6);

    // trap geometry: a circle of radius rad about tp (a point trap when rad = 0, a ring about
    // the origin when tp = 0) and a line; kind picks one or the min of both
    int tt = int(b.z * 4.0);
    vec2 tp = tt == 0 ? 0.6 * b.w * vec2(cos(TAU * b.w), sin(TAU * b.w)) : vec2(0.0);
    float rad = tt == 2 ? mix(0.2, 1.0, b.w) : tt == 3 ? 0.5 : 0.0;
    vec2 ln = vec2(cos(PI * d.z), sin(PI * d.z));                       // line normal
    float lo = 0.2 * (b.w - 0.5);
    float useC = tt == 1 ? 1e3 : 0.0, useL = (tt == 0 || tt == 2) ? 1e3 : 0.0;

    float trap = 1e9, it = 0.0, acc = 0.0;
    for (int i = 0; i < 64; i++) {
        z = vec2(z.x * z.x - z.y * z.y, 2.0 * z.x * z.y) + jc;
        if (dot(z, z) > 64.0) break;
        float dist = min(abs(length(z - tp) - rad) + useC, abs(dot(z, ln) - lo) + useL);
        trap = min(trap, dist);
        acc += 1.0 / (1.0 + 16.0 * dist * dist);   // time the orbit lingers near the trap
        it += 1.0;
    }
    // trap distance -> glow; sharpness from params
    float g = exp(-trap * mix(3.0, 18.0, c.w));
    // smooth escape count (continuous across iteration bands) for escaped points
    float r2 = dot(z, z);
    float esc = (r2 > 64.0 ? it + 1.0 - log2(log2(r2) / 6.0) : it) / 64.0;
    // closest approach sets the glow, lingering time adds soft colour zones inside the set
    vec3 col = palette(trap * 1.5 + d.y + 0.4 * esc * d.x + 0.25 * log(1.0 + acc), a);
    col *= mix(0.15, 1.0, g);
    // background: faint escape-time shading so outer regions are not one flat colour
    col = mix(col, palette(esc * 2.0 + d.y + 0.5, a.yxwz) * 0.5, d.w * (1.0 - g) * 0.6);
    fragColor = vec4(col, 1.0);
}
