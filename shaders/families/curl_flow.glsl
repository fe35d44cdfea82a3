// family: curl_flow
// summary: streaky flow field: noise texture smeared along the streamlines of a curl (divergence-free) field, like LIC or wind maps
// params: p0 field scale/rotation/offset, p1 wave directions of the stream function, p2 palette, p3 step length/streak frequency/colour mix
// The stream function psi is a sum of three plane sine waves, so its curl is analytic (no
// finite differences). Integrating a short streamline forward and backward and averaging
// white noise along it gives streaks aligned with the flow (line integral convolution).
// psi_i = sin(k.p + phase) / |k|^2  ->  curl = (dpsi/dy, -dpsi/dx) = cos(k.p + phase) * kp
// with kp = (k.y, -k.x) / |k|^2 precomputed per image.
vec2 curl_flow_vel(vec2 p, vec2 k[3], vec2 kp[3], float t) {
    vec2 v = vec2(0.0);
    for (int i = 0; i < 3; i++) {
        v += cos(dot(k[i], p) + t * (0.3 + 0.2 * float(i)) + float(i) * 1.7) * kp[i];
    }
    return v;
}

// Cheap lattice white noise for the LIC texture (3 integer multiplies; uhash2 uses 4).
float curl_flow_noise(vec2 p) {
    uvec2 u = uvec2(ivec2(floor(p)));
    uint h = (u.x * 0x9e3779b1u) ^ (u.y * 0x85ebca77u);
    h ^= h >> 15; h *= 0x2c1b3c6du; h ^= h >> 13;
    return float(h >> 8) * (1.0 / 16777216.0);
}

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], q = iParams[2], c = iParams[3];
    vec2 k[3], kp[3];
    for (int i = 0; i < 3; i++) {
        float ang = TAU * b[i];
        float f = 1.0 + 2.5 * fract(b[i] * 7.31 + a.z + 0.37 * float(i));
        k[i] = f * vec2(cos(ang), sin(ang));
        kp[i] = vec2(k[i].y, -k[i].x) / (f * f);
    }
    vec2 p = rot(TAU * a.y) * centered(fragCoord) * (0.8 + 2.0 * a.x) + (a.zw - 0.5) * 20.0;
    float h = 0.025 + 0.04 * c.x;                     // step length along the streamline
    float freq = 14.0 + 26.0 * c.y;                  // streak noise frequency
    float acc = 0.0, speed = 0.0;
    vec2 pf = p, pb = p;
    for (int i = 0; i < 4; i++) {
        vec2 vf = curl_flow_vel(pf, k, kp, iTime);
        vec2 vb = curl_flow_vel(pb, k, kp, iTime);
        pf += h * vf * inversesqrt(dot(vf, vf) + 1e-8);
        pb -= h * vb * inversesqrt(dot(vb, vb) + 1e-8);
        // Cell white noise (one hash per sample, like classic LIC); the averaging smooths it.
        acc += curl_flow_noise(pf * freq) + curl_flow_noise(pb * freq);
        speed += length(vf);
    }
    acc /= 8.0;                                      // mean noise along the line (~0.5)
    speed /= 4.0;
    float streak = clamp((acc - 0.5) * 3.0 + 0.5, 0.0, 1.0);
    vec3 base = palette(speed * (0.5 + 1.2 * c.z) + q.w, q);
    vec3 ink = palette(speed * 0.5 + 0.5 + c.w, q.yzxw);
    vec3 col = mix(base * 0.35, mix(base, ink, 0.5 * c.w), streak);
    col += 0.25 * streak * streak;
    fragColor = vec4(col, 1.0);
}
