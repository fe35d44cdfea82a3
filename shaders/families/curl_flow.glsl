// family: curl_flow
// summary: streaky flow field: noise texture smeared along the streamlines of a curl (divergence-free) field, like LIC or wind maps
// params: p0 field scale/rotation/offset, p1 wave directions of the stream function, p2 palette, p3 step length/streak frequency/colour mix
// The stream function psi is a sum of four plane sine waves, so its curl is analytic (no
// finite differences). Integrating a short streamline forward and backward and averaging
// value noise along it gives streaks aligned with the flow (line integral convolution).
vec2 curl_flow_vel(vec2 p, vec2 k[4], float t) {
    vec2 v = vec2(0.0);
    for (int i = 0; i < 4; i++) {
        // psi_i = sin(k.p + phase) / |k|^2  ->  curl = (dpsi/dy, -dpsi/dx)
        float c = cos(dot(k[i], p) + t * (0.3 + 0.2 * float(i)) + float(i) * 1.7) / dot(k[i], k[i]);
        v += c * vec2(k[i].y, -k[i].x);
    }
    return v;
}

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], q = iParams[2], c = iParams[3];
    vec2 k[4];
    for (int i = 0; i < 4; i++) {
        float ang = TAU * b[i];
        float f = 1.0 + 2.5 * fract(b[i] * 7.31 + a.z + 0.37 * float(i));
        k[i] = f * vec2(cos(ang), sin(ang));
    }
    vec2 p = rot(TAU * a.y) * centered(fragCoord) * (0.8 + 2.0 * a.x) + (a.zw - 0.5) * 20.0;
    float h = 0.025 + 0.045 * c.x;                     // step length along the streamline
    float freq = 14.0 + 26.0 * c.y;                  // streak noise frequency
    float acc = 0.0, speed = 0.0;
    vec2 pf = p, pb = p;
    for (int i = 0; i < 4; i++) {
        vec2 vf = curl_flow_vel(pf, k, iTime);
        vec2 vb = curl_flow_vel(pb, k, iTime);
        pf += h * normalize(vf + 1e-5);
        pb -= h * normalize(vb + 1e-5);
        acc += vnoise(pf * freq) + vnoise(pb * freq);
        speed += length(vf);
    }
    acc /= 8.0;                                       // mean noise along the line (~0.5)
    speed /= 4.0;
    float streak = clamp((acc - 0.5) * 4.0 + 0.5, 0.0, 1.0);
    vec3 base = palette(speed * (0.5 + 1.2 * c.z) + q.w, q);
    vec3 ink = palette(speed * 0.5 + 0.5 + c.w, q.yzxw);
    vec3 col = mix(base * 0.35, mix(base, ink, 0.5 * c.w), streak);
    col += 0.25 * streak * streak;
    fragColor = vec4(col, 1.0);
}
