// family: turing
// summary: reaction-diffusion-like Turing patterns: leopard spots, zebra stripes, labyrinths, in two or three tones
// params: p0 palette; p1.x wave count 3..8, p1.y wavelength, p1.z threshold (spots/labyrinth/holes), p1.w edge sharpness; p2.x direction warp, p2.y stripe anisotropy, p2.z rotation, p2.w seed; p3.x dark outline, p3.y which phase is light + its hue, p3.z background hue/brightness, p3.w time drift

// A single-pass stand-in for reaction-diffusion: a Turing pattern is dominated by one spatial
// wavelength, so a sum of equal-wavelength plane waves in random directions (warped slightly by
// low-frequency noise so it meanders) thresholded at level th gives spots (th far from 0) or
// labyrinths (th near 0), like the steady states of Gray-Scott / Gierer-Meinhardt systems.
float turing_field(vec2 p, int n, float aniso, float seed, float t) {
    float s = 0.0;
    for (int i = 0; i < 8; i++) {
        if (i >= n) break;
        float fi = float(i);
        // golden-angle spread gives well separated directions; anisotropy squeezes them toward
        // one axis (zebra stripes); phases from a cheap quasi-random sequence of the seed
        float ang = (seed * 17.0 + fi * 2.39996) * (1.0 - 0.85 * aniso);
        vec2 k = vec2(cos(ang), sin(ang));
        float ph = TAU * fract(seed * 7.31 + fi * 0.618034);
        s += cos(dot(k, p) + ph + t * (fract(fi * 0.4142) - 0.5));
    }
    return s * inversesqrt(float(n));
}

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], c = iParams[2], d = iParams[3];
    vec2 uv = rot(TAU * c.z) * centered(fragCoord);
    float waves = mix(3.0, 10.0, b.y);                  // wavelengths across the image height
    vec2 p = uv * PI * waves;                           // height is 2 units -> k = TAU * waves / 2
    // meander: bend the domain with low-frequency noise (about one wavelength of displacement)
    vec2 w = vec2(gnoise(uv * 1.7 + 13.0 * c.w), gnoise(uv * 1.7 - 5.0 * c.w + 4.0));
    p += w * mix(0.5, 6.0, c.x);
    int n = 3 + int(b.x * 6.0);
    float f = turing_field(p, n, c.y * c.y, c.w, iTime * d.w);
    // local threshold variation lets spots and stripes coexist, as in real animal coats
    float th = mix(-0.65, 0.65, b.z) + 0.35 * gnoise(uv * 1.1 + 7.0);
    float sharp = mix(0.04, 0.35, b.w);
    float m = smoothstep(th - sharp, th + sharp, f);

    // two tones kept apart in brightness so the pattern never dissolves into one flat colour;
    // d.y > 0.5 swaps which phase is the light one
    vec3 fg = mix(palette(0.1 + 0.2 * d.y, a), vec3(1.0), 0.2);
    vec3 bg = palette(0.6 + 0.3 * d.z, a) * mix(0.2, 0.55, d.z);
    vec3 col = d.y > 0.5 ? mix(bg, fg, m) : mix(fg, bg, m);
    // optional dark rim where the field crosses the threshold (jaguar-like rosettes)
    float rim = 1.0 - smoothstep(0.0, 0.18, abs(f - th) - 0.05);
    col = mix(col, vec3(0.05), rim * step(0.5, d.x) * 0.85);
    fragColor = vec4(col, 1.0);
}
