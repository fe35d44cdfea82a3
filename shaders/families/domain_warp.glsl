// family: domain_warp
// summary: swirling marbled fluid-like structures from fbm warped by fbm (one or two warp levels)
// params: p0 palette; p1.x warp strength, p1.y warp levels 1..2, p1.z final octaves 3..4, p1.w scale; p2.xy offset, p2.z rotation, p2.w gain; p3.x time flow speed, p3.y colour from warp vectors, p3.z contrast, p3.w palette offset

// Cheap 3-octave value-noise fbm in about [-1, 1] for the warp fields (no trig, unlike gnoise).
float domain_warp_field(vec2 p) {
    return (vnoise(p) * 0.57 + vnoise(p * 2.03 + 4.1) * 0.29 + vnoise(p * 4.1 - 2.3) * 0.14) * 2.4 - 1.2;
}

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], c = iParams[2], d = iParams[3];
    vec2 p = rot(TAU * c.z) * centered(fragCoord) * mix(0.6, 2.0, b.w) + 30.0 * c.xy;
    int oct = 3 + int(b.z * 2.0);
    float gain = mix(0.4, 0.6, c.w);
    float k = mix(1.0, 3.5, b.x);          // warp strength
    float tt = iTime * mix(0.02, 0.15, d.x);

    // first warp field q(p); the two components use decorrelated offsets
    // warp fields are cheap value-noise fbm (their fine detail is invisible after warping)
    vec2 q = vec2(domain_warp_field(p + vec2(0.0, tt)), domain_warp_field(p + vec2(5.2, 1.3 - tt)));
    vec2 w = q;
    if (b.y > 0.5) {
        // second level: warp the domain again by a field sampled at the warped point
        w = vec2(domain_warp_field(p + k * q + vec2(1.7, 9.2)), domain_warp_field(p + k * q + vec2(8.3, 2.8 + tt)));
    }
    float f = fbm(p + k * w, oct, gain);

    float t = f * mix(0.6, 1.3, d.z) + d.w;
    vec3 col = palette(t, a);
    // tint by the warp vectors so folds get their own hues
    vec3 col2 = palette(length(w) * 0.8 + 0.4 * w.x + d.w + 0.3, a.yzwx);
    col = mix(col, col2, 0.25 + 0.5 * d.y);
    col *= 0.55 + 0.9 * clamp(f * 0.8 + 0.55, 0.0, 1.0);
    fragColor = vec4(col, 1.0);
}
