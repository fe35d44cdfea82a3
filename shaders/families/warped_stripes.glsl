// family: warped_stripes
// summary: bands of 2-6 palette colours bent by a blend of noise warp, swirl and sine warp
// params: p0 stripe direction/frequency/colour count/edge softness, p1 warp strengths (noise, swirl, sine) and sine frequency, p2 palette, p3 offsets/noise scale/time speed
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], w = iParams[1], q = iParams[2], c = iParams[3];
    vec2 p = centered(fragCoord);
    float t = iTime * (0.2 + 0.5 * c.w);
    // Swirl: rotation angle decays with distance from a param-chosen centre.
    vec2 ctr = (c.xy - 0.5) * 1.2;
    vec2 d = p - ctr;
    float sw = (w.y * w.y * 9.0 - 1.5) * exp(-dot(d, d) * 1.5);
    p = ctr + rot(sw + 0.3 * sin(t)) * d;
    // Noise warp (squared weight so many images stay only mildly bent).
    float ns = 0.8 + 2.5 * c.z;
    vec2 np = p * ns + 13.0 * c.xy + t * 0.3;
    p += w.x * w.x * 0.9 * vec2(gnoise(np), gnoise(np + vec2(5.2, 1.3)));
    // Sine warp across the stripes.
    float sf = 2.0 + 8.0 * w.w;
    p.y += w.z * 0.35 * sin(p.x * sf + t * 2.0);
    p.x += w.z * 0.2 * sin(p.y * sf * 0.7 - t);
    vec2 dir = vec2(cos(TAU * a.x), sin(TAU * a.x));
    float u = dot(p, dir) * (2.0 + 10.0 * a.y) + c.x * 10.0;
    float n = 2.0 + floor(5.0 * a.z);                // distinct colours in the cycle
    float idx = mod(floor(u), n);
    float soft = 0.02 + 0.45 * a.w * a.w;            // edge width in stripe units
    float f = fract(u);
    float edge = smoothstep(0.0, soft, f) * smoothstep(0.0, soft, 1.0 - f);
    vec3 c0 = palette(idx / n * (0.6 + 0.8 * q.w) + q.z, q);
    vec3 c1 = palette(mod(idx + 1.0, n) / n * (0.6 + 0.8 * q.w) + q.z, q);
    // Blend into the next colour across the soft edge so wide edges become gradients.
    vec3 col = mix(mix(c1, c0, 0.5), c0, edge);
    col *= 0.8 + 0.2 * f;                             // slight shading inside each band
    fragColor = vec4(col, 1.0);
}
