// unnatural composer building blocks: coordinate transforms (prefix cx_). Written for this
// project. KIND transform: vec2 f(vec2 p, float params...) maps centred coordinates (y in
// [-1, 1]) to new coordinates of about the same magnitude. KIND displace: vec2 f(vec2 p,
// float v, float params...) moves p by an already computed [0, 1] field value v.
// Format: see base.glsl.

// @block cx_affine transform cost=2 weight=3 zoom=1.1
// @param angle 0 6.2832 time
// @param scale 0.6 1.7
// @param dx -0.5 0.5
// @param dy -0.5 0.5
vec2 cx_affine(vec2 p, float angle, float scale, float dx, float dy) {
    return rot(angle) * (p * scale) + vec2(dx, dy);
}

// @block cx_kaleido transform cost=6 weight=1.5 zoom=1.6 needs=cb_angle
// Folds the plane into a mirrored wedge of 3..8 segments, then opens the half-wedge to a
// quarter turn (so fields see a wide domain, not a sliver) and shifts it off-axis so that
// radially symmetric fields still change.
// @param segments 3 9
// @param spin 0 6.2832 time
// @param shift 0.0 0.8
vec2 cx_kaleido(vec2 p, float segments, float spin, float shift) {
    float n = floor(segments);
    float wedge = TAU / n;
    float a = abs(mod(cb_angle(p) + spin, wedge) - 0.5 * wedge);
    a *= 0.25 * n;
    return length(p) * vec2(cos(a), sin(a)) - vec2(shift, 0.0);
}

// @block cx_polar transform cost=1 zoom=2 needs=cb_angle
// Unrolls the plane: x = angle (repeated 1..4 times around the circle), y = scaled radius.
// @param reps 1 4
// @param rscale 1.0 3.0
vec2 cx_polar(vec2 p, float reps, float rscale) {
    return vec2(cb_angle(p) * floor(reps) / PI, length(p) * rscale - 1.0);
}

// @block cx_logpolar transform cost=1 zoom=2 needs=cb_angle
// Log-polar (conformal) map; a shear between log-radius and angle turns stripes into spirals.
// @param zoom 0.4 1.2
// @param twist -1.0 1.0
// @param drift 0 6.2832 time
vec2 cx_logpolar(vec2 p, float zoom, float twist, float drift) {
    vec2 q = vec2(log(max(length(p), 1e-3)) - 0.25 * drift, cb_angle(p));
    return mat2(1.0, twist, -twist, 1.0) * q * zoom;
}

// @block cx_swirl transform cost=3 zoom=1.5
// Rotates each point by an angle that decays with distance from the centre.
// @param strength -3.5 3.5
// @param radius 0.4 1.5
vec2 cx_swirl(vec2 p, float strength, float radius) {
    return rot(strength * exp(-dot(p, p) / (radius * radius))) * p;
}

// @block cx_noisewarp transform cost=7 zoom=1.5
// Domain warp by two value-noise channels.
// @param amount 0.1 0.5
// @param freq 0.8 2.0 freq
// @param phase 0 6.2832 time
vec2 cx_noisewarp(vec2 p, float amount, float freq, float phase) {
    vec2 q = p * freq + vec2(0.35 * phase, -0.2 * phase);
    vec2 n = vec2(vnoise(q), vnoise(q + vec2(7.31, 3.17)));
    return p + amount * (2.0 * n - 1.0);
}

// @block cx_sinewarp transform cost=2 zoom=1.5
// Domain warp by crossed sines.
// @param amount 0.05 0.3
// @param freq 1.5 5.0 freq
// @param phase 0 6.2832 time
vec2 cx_sinewarp(vec2 p, float amount, float freq, float phase) {
    return p + amount * vec2(sin(p.y * freq + phase), sin(p.x * freq * 1.21 - 0.8 * phase));
}

// @block cx_tile transform cost=0.5 zoom=1.75
// Repeats the plane in square cells; each cell spans [-1, 1]^2.
// @param cells 1.0 2.5
vec2 cx_tile(vec2 p, float cells) {
    return (fract(p * cells * 0.5 + 0.5) - 0.5) * 2.0;
}

// @block cx_mirrortile transform cost=0.5 zoom=1.75 needs=cb_tri
// Repeats the plane with every other cell mirrored, so the tiling has no seams.
// @param cells 1.0 2.5
vec2 cx_mirrortile(vec2 p, float cells) {
    return cb_tri2(p * cells * 0.25 + 0.5) * 2.0 - 1.0;
}

// @block cx_fold transform cost=1.5
// Reflects the half-plane behind a line (normal angle, offset) onto the front half.
// @param angle 0 6.2832 time
// @param offset -0.4 0.4
vec2 cx_fold(vec2 p, float angle, float offset) {
    vec2 n = vec2(cos(angle), sin(angle));
    return p - 2.0 * min(dot(p, n) - offset, 0.0) * n;
}

// @block cx_invert transform cost=0.5 zoom=1.3
// Circle inversion about (cx, cy) blended with the identity, so the far field is not crushed
// into a tiny disc; the magnification is capped near the centre.
// @param radius 0.4 0.65
// @param cx -0.5 0.5
// @param cy -0.5 0.5
vec2 cx_invert(vec2 p, float radius, float cx, float cy) {
    vec2 d = p - vec2(cx, cy);
    return d * (radius * radius / max(dot(d, d), 0.15) + 0.6);
}

// @block cx_ripple transform cost=1.5 zoom=1.3
// Radial ripple: scales p by a wave of the radius.
// @param amount 0.03 0.15
// @param freq 3.0 10.0 freq
// @param phase 0 6.2832 time
vec2 cx_ripple(vec2 p, float amount, float freq, float phase) {
    return p * (1.0 + amount * sin(length(p) * freq - phase));
}

// @block cx_pixelate transform cost=1.5 weight=0.7
// Snaps p to the centres of square cells (mosaic look).
// @param cells 2.0 5.0
vec2 cx_pixelate(vec2 p, float cells) {
    return (floor(p * cells) + 0.5) / cells;
}

// @block cx_bulge transform cost=2.5 zoom=1.2
// Radial power map: power > 0 magnifies the rim, < 0 the centre.
// @param power -0.45 0.9
vec2 cx_bulge(vec2 p, float power) {
    return p * pow(length(p) + 0.15, power);
}

// @block cx_plane transform cost=1 weight=0.6 zoom=2
// Perspective view of a ground/ceiling plane; depth is capped near the horizon and the
// result recentred on the origin.
// @param horizon -0.4 0.4
// @param depth 0.5 1.2
// @param travel 0 6.2832 time
vec2 cx_plane(vec2 p, float horizon, float depth, float travel) {
    float z = depth / max(abs(p.y - horizon), 0.2);
    return vec2(p.x * z, z - 2.0 + 0.5 * sin(travel)) * 0.6;
}

// @block cx_displace displace cost=2.5 zoom=1.3
// Shifts p along a direction by the field value v (centred on 0.5).
// @param amount 0.1 0.6
// @param angle 0 6.2832
vec2 cx_displace(vec2 p, float v, float amount, float angle) {
    return p + (v - 0.5) * amount * vec2(cos(angle), sin(angle));
}

// @block cx_vrotate displace cost=2.5 zoom=1.3
// Rotates p about the origin by an angle proportional to the field value v.
// @param amount 0.5 3.0
vec2 cx_vrotate(vec2 p, float v, float amount) {
    return rot((v - 0.5) * amount) * p;
}
