// unnatural composer building blocks: colour. Written for this project. Format: see base.glsl.
// KIND palette: vec3 f(float v, vec4 q, float params...) maps a [0, 1] value to RGB; q is an
// iParams vector that picks the colour scheme (prefix cp_).
// KIND tint: vec3 f(vec3 c, float w, float params...) modulates a colour by a second field
// (prefix ck_). KIND layer: vec3 f(vec3 a, vec3 b, float m, float params...) composites two
// colours by a mask field (prefix cl_). KIND post: vec3 f(vec3 c, vec2 uv, float v, float
// params...) finishes the image given the centred pixel position uv and the main value v
// (prefix cg_).

// @block cp_cosine palette cost=3 weight=2
// Cosine palette from the common library, with a spread (cycles over the value range).
// @param spread 0.5 1.4
vec3 cp_cosine(float v, vec4 q, float spread) {
    return palette(v * spread, q);
}

// @block cp_hsv palette cost=3
// Hue walks with the value; brightness rises with the value.
// @param range 0.15 0.9
vec3 cp_hsv(float v, vec4 q, float range) {
    return hsv2rgb(vec3(q.x + range * v, 0.45 + 0.5 * q.y, 0.15 + 0.85 * v));
}

// @block cp_ramp palette cost=4 weight=1.5
// Three-stop gradient from a dark, a mid and a light colour chosen by q.
vec3 cp_ramp(float v, vec4 q) {
    vec3 c0 = hsv2rgb(vec3(q.x, 0.6 + 0.4 * q.w, 0.08 + 0.2 * q.z));
    vec3 c1 = hsv2rgb(vec3(q.y, 0.55 + 0.45 * q.z, 0.55 + 0.25 * q.w));
    vec3 c2 = hsv2rgb(vec3(q.x + 0.5 * q.z, 0.35 * q.y, 0.95));
    return v < 0.5 ? mix(c0, c1, 2.0 * v) : mix(c1, c2, 2.0 * v - 1.0);
}

// @block cp_duotone palette cost=3
// Two colours, dark and light, with a soft S-curve between them.
vec3 cp_duotone(float v, vec4 q) {
    vec3 dark = hsv2rgb(vec3(q.x, 0.5 + 0.5 * q.y, 0.1 + 0.2 * q.w));
    vec3 light = hsv2rgb(vec3(q.z, 0.2 + 0.6 * q.w, 0.85 + 0.15 * q.y));
    return mix(dark, light, smoothstep(0.0, 1.0, v));
}

// @block cp_spectrum palette cost=2.5
// Saturated hue cycles (rainbow bands) darkened at the low end.
// @param cycles 0.5 1.6
vec3 cp_spectrum(float v, vec4 q, float cycles) {
    return hsv2rgb(vec3(q.x + cycles * v, 0.7 + 0.3 * q.y, 0.35 + 0.65 * sqrt(v)));
}

// @block cp_bands palette cost=2 weight=0.7
// Posterized cosine palette: flat colour steps.
// @param levels 3.0 8.0
vec3 cp_bands(float v, vec4 q, float levels) {
    float n = floor(levels);
    return palette(floor(v * n) / n * 1.3, q);
}

// @block ck_shade tint cost=0.5
// Multiplies brightness by the second field.
// @param depth 0.4 0.85
vec3 ck_shade(vec3 c, float w, float depth) {
    return c * (1.0 - depth + depth * w);
}

// @block ck_glow tint cost=1
// Adds a coloured glow where the second field is high.
// @param hue 0 1
// @param gain 0.4 1.0
vec3 ck_glow(vec3 c, float w, float hue, float gain) {
    return c * (1.0 - 0.5 * w) + gain * w * w * hsv2rgb(vec3(hue, 0.6, 1.0));
}

// @block ck_contours tint cost=1.5
// Dark iso-lines of the second field.
// @param count 1.5 4.0
// @param width 0.08 0.3
vec3 ck_contours(vec3 c, float w, float count, float width) {
    float d = abs(fract(w * count) - 0.5);
    return c * mix(0.15, 1.0, smoothstep(0.0, width, 0.5 - d));
}

// @block ck_hueshift tint cost=3
// Rotates the colour about the grey axis by an angle proportional to the second field.
// @param amount 1.0 6.0
vec3 ck_hueshift(vec3 c, float w, float amount) {
    vec3 k = vec3(0.57735);
    float a = amount * (w - 0.5);
    return clamp(c * cos(a) + cross(k, c) * sin(a) + k * dot(k, c) * (1.0 - cos(a)), 0.0, 1.0);
}

// @block cl_cut layer cost=2
// Hard-ish cutout: b where the mask is above a level, a below, with a thin dark rim.
// @param level 0.35 0.65
// @param soft 0.01 0.08
vec3 cl_cut(vec3 a, vec3 b, float m, float level, float soft) {
    float t = smoothstep(level - soft, level + soft, m);
    float rim = 1.0 - 0.6 * exp(-abs(m - level) / (2.0 * soft + 0.02));
    return mix(a, b, t) * rim;
}

// @block cl_blend layer cost=1
// Smooth blend by the mask value.
vec3 cl_blend(vec3 a, vec3 b, float m) {
    return mix(a, b, smoothstep(0.1, 0.9, m));
}

// @block cl_screen layer cost=0.5
// Screens b over a, weighted by the mask.
vec3 cl_screen(vec3 a, vec3 b, float m) {
    return 1.0 - (1.0 - a) * (1.0 - b * m);
}

// @block cg_vignette post cost=0.5
// @param amount 0.2 0.6
vec3 cg_vignette(vec3 c, vec2 uv, float v, float amount) {
    return c * (1.0 - amount * smoothstep(0.4, 1.8, length(uv)));
}

// @block cg_contrast post cost=0.5
// S-curve on each channel.
// @param amount 0.3 1.0
vec3 cg_contrast(vec3 c, vec2 uv, float v, float amount) {
    c = clamp(c, 0.0, 1.0);
    return mix(c, c * c * (3.0 - 2.0 * c), amount);
}

// @block cg_saturate post cost=1
// Pushes colours away from (or towards) their grey level.
// @param amount 0.5 1.6
vec3 cg_saturate(vec3 c, vec2 uv, float v, float amount) {
    float grey = dot(c, vec3(0.299, 0.587, 0.114));
    return clamp(mix(vec3(grey), c, amount), 0.0, 1.0);
}

// @block cg_emboss post cost=3.5
// Relief lighting from the screen-space slope of the main value (pixel-quad derivatives).
// @param strength 0.5 3.0
// @param light 0 6.2832
vec3 cg_emboss(vec3 c, vec2 uv, float v, float strength, float light) {
    vec2 g = vec2(dFdx(v), dFdy(v)) * iResolution.y * 0.05 * strength;
    vec3 n = normalize(vec3(-g, 1.0));
    float lit = dot(n, normalize(vec3(cos(light), sin(light), 1.2)));
    return c * (0.35 + 0.85 * clamp(lit, 0.0, 1.0));
}

// @block cg_gamma post cost=4
// @param expo -0.8 0.8
vec3 cg_gamma(vec3 c, vec2 uv, float v, float expo) {
    return pow(clamp(c, 0.0, 1.0), vec3(exp2(expo)));
}
