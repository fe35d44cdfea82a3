// unnatural composer building blocks: scalar compositing operators. Written for this project.
// All inputs and outputs are in [0, 1]. KIND unary: float f(float v, float params...)
// (prefix cu_). KIND binary: float f(float a, float b, float params...) (prefix cc_). KIND
// select: float f(float a, float b, float m, float params...) (prefix cs_). Format: see base.glsl.

// @block cu_bands unary cost=1
// Contour bands: a cosine of the value (turns smooth fields into iso-lines).
// @param count 1.0 3.0
// @param phase 0 6.2832 time
float cu_bands(float v, float count, float phase) {
    return 0.5 + 0.5 * cos(TAU * count * v - phase);
}

// @block cu_threshold unary cost=0.5 weight=0.5
// Soft threshold (keeping a quarter of the input's shading).
// @param level 0.4 0.6
// @param soft 0.02 0.2
float cu_threshold(float v, float level, float soft) {
    return mix(v, smoothstep(level - soft, level + soft, v), 0.75);
}

// @block cu_gamma unary cost=2.5
// @param expo -1.2 1.2
float cu_gamma(float v, float expo) {
    return pow(clamp(v, 0.0, 1.0), exp2(expo));
}

// @block cu_invert unary cost=0.5 weight=0.5
float cu_invert(float v) {
    return 1.0 - v;
}

// @block cu_fold unary cost=0.5 needs=cb_tri
// Folds the value range back and forth 1..3 times.
// @param folds 1.0 3.0
float cu_fold(float v, float folds) {
    return cb_tri(v * folds * 0.5 + 0.25);
}

// @block cu_posterize unary cost=1 weight=0.7
// @param levels 4.0 8.0
float cu_posterize(float v, float levels) {
    float n = floor(levels);
    return clamp(floor(v * n) / (n - 1.0), 0.0, 1.0);
}

// @block cu_stretch unary cost=0.5
// Contrast stretch about a centre with a soft (algebraic sigmoid) shoulder instead of a clamp,
// so the stretched ends keep some shading.
// @param centre 0.35 0.65
// @param gain 1.3 3.0
float cu_stretch(float v, float centre, float gain) {
    float x = (v - centre) * gain;
    return 0.5 + 0.5 * x / sqrt(0.25 + x * x);
}

// @block cc_mix binary cost=0.5
// @param w 0.25 0.75
float cc_mix(float a, float b, float w) {
    return mix(a, b, w);
}

// @block cc_multiply binary cost=1
// Product, re-brightened with a square root so it does not sink towards black.
float cc_multiply(float a, float b) {
    return sqrt(clamp(a * b, 0.0, 1.0));
}

// @block cc_screen binary cost=0.5
float cc_screen(float a, float b) {
    return 1.0 - (1.0 - a) * (1.0 - b);
}

// @block cc_difference binary cost=0.5
// Absolute difference, stretched (differences of [0, 1] values bunch up near 0).
float cc_difference(float a, float b) {
    return clamp(1.6 * abs(a - b), 0.0, 1.0);
}

// @block cc_max binary cost=0.5 weight=0.7
float cc_max(float a, float b) {
    return max(a, b);
}

// @block cc_min binary cost=0.5 weight=0.7
float cc_min(float a, float b) {
    return min(a, b);
}

// @block cc_overlay binary cost=0.5
float cc_overlay(float a, float b) {
    return a < 0.5 ? 2.0 * a * b : 1.0 - 2.0 * (1.0 - a) * (1.0 - b);
}

// @block cc_exclusion binary cost=0.5
// a + b - 2ab: like a soft XOR of the two fields.
float cc_exclusion(float a, float b) {
    return a + b - 2.0 * a * b;
}

// @block cc_wrapadd binary cost=0.5
// Sum wrapped into [0, 1] (adds hard contour edges where the sum crosses an integer).
// @param w 0.5 1.5
float cc_wrapadd(float a, float b, float w) {
    return fract(a + w * b);
}

// @block cc_smoothmax binary cost=1
// Polynomial smooth maximum.
// @param k 0.05 0.4
float cc_smoothmax(float a, float b, float k) {
    return 1.0 - smin(1.0 - a, 1.0 - b, k);
}

// @block cs_select select cost=0.5
// Chooses b where the mask m is above a level, a below, with a soft edge.
// @param level 0.35 0.65
// @param soft 0.01 0.15
float cs_select(float a, float b, float m, float level, float soft) {
    return mix(a, b, smoothstep(level - soft, level + soft, m));
}

// @block cs_lerp select cost=0.5
// Blends a and b by the mask value itself.
float cs_lerp(float a, float b, float m) {
    return mix(a, b, m);
}
