// family: moire
// summary: moire fringes from two or three overlaid fine gratings (straight lines or concentric rings) at slightly different angles, scales and centres
// params: p0 palette; p1.x lines or rings + bar contrast, p1.y base frequency, p1.z angle offset between layers, p1.w scale ratio; p2.x third layer on/off, p2.y ring centre spread, p2.z combine mode (multiply/add/xor-like), p2.w duty cycle; p3.x rotation, p3.y hue spread, p3.z sharpness, p3.w time drift

// Phase (in cycles) of one grating at p: straight bars at angle ang, or rings about o.
float moire_phase(vec2 p, float ang, float freq, float kind, vec2 o) {
    return freq * (kind > 0.5 ? length(p - o) : dot(p, vec2(cos(ang), sin(ang))));
}

// Bars of a grating from its phase: value in [0, 1] with the given duty cycle and edge softness.
float moire_bars(float ph, float duty, float sharp) {
    return smoothstep(duty - sharp, duty + sharp, 0.5 + 0.5 * cos(TAU * ph));
}

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], c = iParams[2], d = iParams[3];
    vec2 uv = rot(TAU * d.x) * centered(fragCoord);
    // Moire fringes are the beat between nearly equal gratings. Gratings finer than the pixel
    // grid would alias into a resolution-dependent pattern, so the bar frequency is capped near
    // 1/8 cycle per pixel; the beat itself (phase difference) is also drawn directly as colour,
    // so the fringes read at any resolution.
    float freq = min(mix(8.0, 30.0, b.y), 0.12 * iResolution.y);   // cycles per 2 units
    float dang = mix(0.02, 0.2, b.z);
    float ratio = 1.0 + mix(-0.08, 0.08, b.w);
    float duty = mix(0.3, 0.7, c.w);
    float sharp = mix(0.03, 0.3, d.z);
    float drift = 0.02 * iTime * (d.w - 0.5);
    vec2 o1 = c.y * vec2(0.6, -0.3), o2 = -c.y * vec2(0.4, 0.5), o3 = c.y * vec2(-0.5, 0.6);
    float k = step(0.5, b.x);         // all layers lines or all rings: only like gratings beat slowly
    bool three = c.x > 0.5;

    float p1 = moire_phase(uv, 0.0, freq, k, o1);
    float p2 = moire_phase(uv, dang + drift, freq * ratio, k, o2);
    float p3 = moire_phase(uv, -1.7 * dang, freq * (2.0 - ratio), k, o3);
    float g1 = moire_bars(p1, duty, sharp), g2 = moire_bars(p2, duty, sharp), g3 = moire_bars(p3, duty, sharp);

    float m;
    if (c.z < 0.34) m = g1 * g2 * (three ? g3 : 1.0);                               // stacked films
    else if (c.z < 0.67) m = (g1 + g2 + (three ? g3 : 0.0)) / (three ? 3.0 : 2.0);  // added light
    else m = three ? abs(abs(g1 - g2) - g3) : abs(g1 - g2);                          // xor-like

    // the fringe: low-frequency beat of the phase differences
    float beat = cos(TAU * (p1 - p2));
    if (three) beat = 0.5 * (beat + cos(TAU * (p2 - p3)));
    vec3 col = palette(beat * mix(0.2, 0.6, d.y) + 0.1 * uv.x, a);
    col *= mix(mix(0.2, 0.7, b.x * 2.0 - floor(b.x * 2.0)), 1.15, m);   // bar contrast varies
    fragColor = vec4(col, 1.0);
}
