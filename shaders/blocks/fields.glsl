// unnatural composer building blocks: scalar fields (prefix cf_). Written for this project.
// KIND field: float f(vec2 p, float params...) returns a value in [0, 1] with visible
// structure over p in about [-2, 2]^2. Format: see base.glsl.

// @block cf_rings field cost=1 needs=cb_wave
// @param freq 3.0 12.0 freq
// @param sharp 0 1
// @param phase 0 6.2832 time
float cf_rings(vec2 p, float freq, float sharp, float phase) {
    return cb_wave(length(p) * freq - phase, sharp);
}

// @block cf_stripes field cost=2.5 needs=cb_wave
// @param freq 3.0 12.0 freq
// @param angle 0 3.1416
// @param sharp 0 1
// @param phase 0 6.2832 time
float cf_stripes(vec2 p, float freq, float angle, float sharp, float phase) {
    return cb_wave(dot(p, vec2(cos(angle), sin(angle))) * freq - phase, sharp);
}

// @block cf_checker field cost=5
// Product of two sines, sharpened towards a checkerboard.
// @param freq 2.0 6.0 freq
// @param angle 0 1.5708
// @param sharp 0 1
float cf_checker(vec2 p, float freq, float angle, float sharp) {
    vec2 q = rot(angle) * p * freq;
    return 0.5 + 0.5 * clamp(sin(q.x) * sin(q.y) * (1.0 + 12.0 * sharp), -1.0, 1.0);
}

// @block cf_grid field cost=1.5 needs=cb_tri
// Bright grid lines over cells shaded by the distance to the nearest line.
// @param freq 1.0 3.5 freq
// @param width 0.1 0.4
float cf_grid(vec2 p, float freq, float width) {
    vec2 t = cb_tri2(p * freq);
    float d = min(t.x, t.y);
    return mix(0.6 * d, 1.0, 1.0 - smoothstep(0.5 * width, width, d));
}

// @block cf_dots field cost=3.5
// One jittered, size-varying round dot per cell over a per-cell background level.
// @param freq 1.2 3.5 freq
// @param radius 0.3 0.5
// @param jitter 0 1
float cf_dots(vec2 p, float freq, float radius, float jitter) {
    vec2 q = p * freq;
    vec2 cell = floor(q);
    vec3 h = hash32(cell);
    float r = radius * (0.6 + 0.4 * h.x);
    vec2 c = cell + 0.5 + (h.yz - 0.5) * 2.0 * (0.5 - r) * jitter;
    float d = length(q - c) / r;
    return max(clamp(1.0 - d * d, 0.0, 1.0), 0.35 * h.z);
}

// @block cf_noise field cost=14 needs=cb_vfbm
// Four octaves of value-noise fBm.
// @param freq 1.0 3.0 freq
// @param phase 0 6.2832 time
float cf_noise(vec2 p, float freq, float phase) {
    return cb_vfbm(p * freq + vec2(0.4 * phase, 0.25 * phase), 4);
}

// @block cf_ridged field cost=13
// Three octaves of ridged value noise (sharp crests where the noise crosses 0.5).
// @param freq 0.8 2.5 freq
// @param phase 0 6.2832 time
float cf_ridged(vec2 p, float freq, float phase) {
    vec2 q = p * freq + vec2(-0.3 * phase, 0.2 * phase);
    float sum = 0.0, amp = 0.55;
    for (int i = 0; i < 3; i++) {
        float n = 1.0 - abs(2.0 * vnoise(q) - 1.0);
        sum += amp * n * n;
        amp *= 0.5;
        q = mat2(1.6, -1.2, 1.2, 1.6) * q + vec2(1.7, 9.2);
    }
    return clamp((sum - 0.45) * 2.0 + 0.5, 0.0, 1.0);
}

// @block cf_perlin field cost=22 weight=0.6
// Two octaves of gradient noise from the common library.
// @param freq 0.8 2.5 freq
// @param phase 0 6.2832 time
float cf_perlin(vec2 p, float freq, float phase) {
    float n = fbm(p * freq + vec2(0.2 * phase, -0.35 * phase), 2, 0.5);
    return clamp(0.5 + 0.9 * n, 0.0, 1.0);
}

// @block cf_cells field cost=16
// Distance to the nearest Worley feature point.
// @param freq 1.2 3.5 freq
// @param jitter 0.5 1.0
float cf_cells(vec2 p, float freq, float jitter) {
    return clamp(1.4 * voronoi(p * freq, jitter).x, 0.0, 1.0);
}

// @block cf_celledges field cost=16
// Worley cell borders (where the two nearest feature points are equidistant) over cells
// shaded towards their feature point, so thin borders never leave the rest flat.
// @param freq 1.2 3.5 freq
// @param width 0.08 0.3
float cf_celledges(vec2 p, float freq, float width) {
    vec3 v = voronoi(p * freq, 1.0);
    float shade = 0.45 + 0.55 * clamp(1.0 - 1.3 * v.x, 0.0, 1.0);
    return smoothstep(0.0, width, v.y - v.x) * shade;
}

// @block cf_cellid field cost=20
// Flat random level per Worley cell with a little shading towards the feature point.
// @param freq 1.2 3.5 freq
// @param jitter 0.4 1.0
float cf_cellid(vec2 p, float freq, float jitter) {
    vec3 v = voronoi(p * freq, jitter);
    return 0.75 * v.z + 0.25 * clamp(1.0 - v.x, 0.0, 1.0);
}

// @block cf_quasi field cost=10
// Quasi-periodic interference of 3..7 plane waves at equally spaced angles (the wave
// direction steps by a fixed rotation, so the loop needs one cosine per wave).
// @param freq 3.0 9.0 freq
// @param waves 3.0 8.0
// @param phase 0 6.2832 time
float cf_quasi(vec2 p, float freq, float waves, float phase) {
    float n = floor(waves), sum = 0.0;
    mat2 step = rot(PI / n);
    vec2 dir = vec2(freq, 0.0);
    for (int i = 0; i < 8; i++) {
        if (float(i) >= n) break;
        sum += cos(dot(p, dir) + phase);
        dir = step * dir;
    }
    return 0.5 + 0.5 * clamp(0.9 * sum / sqrt(n), -1.0, 1.0);
}

// @block cf_spiral field cost=4.5 needs=cb_angle,cb_wave
// Spiral arms (rays when twist is near 0).
// @param arms 1.0 6.0
// @param twist -8.0 8.0 freq
// @param sharp 0 1
// @param phase 0 6.2832 time
float cf_spiral(vec2 p, float arms, float twist, float sharp, float phase) {
    return cb_wave(floor(arms) * cb_angle(p) + twist * length(p) - phase, sharp);
}

// @block cf_flower field cost=9 needs=cb_angle,cb_shape
// Polar flower (radius modulated by a cosine of the angle) with echo bands.
// @param petals 3.0 10.0
// @param depth 0.1 0.7
// @param radius 0.4 1.0
// @param bands 4.0 14.0 freq
float cf_flower(vec2 p, float petals, float depth, float radius, float bands) {
    float edge = radius * (1.0 - depth * (0.5 + 0.5 * cos(floor(petals) * cb_angle(p))));
    return cb_shape(length(p) - edge, bands);
}

// @block cf_polygon field cost=10 needs=cb_angle,cb_shape
// Regular polygon (distance to the nearest edge line) with echo bands.
// @param sides 3.0 9.0
// @param radius 0.3 0.9
// @param bands 4.0 14.0 freq
// @param spin 0 6.2832 time
float cf_polygon(vec2 p, float sides, float radius, float bands, float spin) {
    float wedge = TAU / floor(sides);
    float a = mod(cb_angle(p) + spin, wedge) - 0.5 * wedge;
    return cb_shape(length(p) * cos(a) - radius * cos(0.5 * wedge), bands);
}

// @block cf_plasma field cost=7
// Sum of four travelling sines in different directions.
// @param freq 1.5 5.0 freq
// @param phase 0 6.2832 time
float cf_plasma(vec2 p, float freq, float phase) {
    vec2 q = p * freq;
    vec2 c = 2.0 * vec2(sin(0.5 * phase), cos(0.3 * phase));
    float s = sin(q.x + phase) + sin(0.8 * q.y - 1.3 * phase)
            + sin(0.7 * (q.x + q.y) + 0.7 * phase) + sin(1.1 * length(q + c));
    return clamp(0.5 + 0.22 * s, 0.0, 1.0);
}

// @block cf_truchet field cost=2
// Quarter-circle tiles with random orientation joined into winding tubes.
// @param freq 1.2 3.5 freq
// @param width 0.1 0.3
float cf_truchet(vec2 p, float freq, float width) {
    vec2 q = p * freq;
    vec2 cell = floor(q);
    vec2 f = fract(q) - 0.5;
    vec2 h = hash22(cell);
    if (h.x < 0.5) f.x = -f.x;
    float d = min(abs(length(f - 0.5) - 0.5), abs(length(f + 0.5) - 0.5));
    return max(sqrt(clamp(1.0 - d / width, 0.0, 1.0)), 0.3 * h.y);
}

// @block cf_maze field cost=3.5
// Random diagonals per cell (they join into a maze-like line pattern).
// @param freq 1.2 3.5 freq
// @param width 0.08 0.25
float cf_maze(vec2 p, float freq, float width) {
    vec2 q = p * freq;
    vec2 cell = floor(q);
    vec2 f = fract(q);
    vec2 h = hash22(cell);
    if (h.x < 0.5) f.x = 1.0 - f.x;
    float d = abs(f.x - f.y) * 0.70710678;
    d = min(d, abs(f.x + f.y - 1.0) * 0.70710678 + 0.35);
    return max(1.0 - smoothstep(0.5 * width, width, d), 0.3 * h.y);
}

// @block cf_hex field cost=2
// Hexagonal cells: distance from the cell centre with bright borders.
// @param freq 1.2 3.5 freq
// @param width 0.05 0.2
float cf_hex(vec2 p, float freq, float width) {
    vec2 q = p * freq;
    const vec2 s = vec2(1.0, 1.7320508);
    vec2 a = mod(q, s) - 0.5 * s;
    vec2 b = mod(q + 0.5 * s, s) - 0.5 * s;
    vec2 g = abs(dot(a, a) < dot(b, b) ? a : b);
    float h = max(g.x, dot(g, vec2(0.5, 0.8660254)));
    return mix(1.2 * h, 1.0, smoothstep(0.5 - width, 0.5, h));
}

// @block cf_metaballs field cost=4.5
// 3..5 moving blobs whose inverse-square potentials merge. Centres come from an additive
// low-discrepancy sequence offset by arrange (no hashing), orbiting slowly with phase.
// @param count 3.0 6.0
// @param size 0.2 0.38
// @param arrange 0 1
// @param phase 0 6.2832 time
float cf_metaballs(vec2 p, float count, float size, float arrange, float phase) {
    float n = floor(count), sum = 0.0;
    vec3 h = fract(vec3(0.3, 0.6, 0.9) + arrange * vec3(7.31, 3.77, 5.13));
    vec2 orbit = vec2(cos(phase), sin(phase));
    for (int i = 0; i < 5; i++) {
        if (float(i) >= n) break;
        h = fract(h + vec3(0.6180340, 0.7548777, 0.5698403));
        vec2 c = (h.xy - 0.5) * vec2(2.6, 1.6) + 0.3 * (h.z - 0.5) * orbit * vec2(float(i) - 1.5, 1.0);
        vec2 d = p - c;
        sum += size * size / (dot(d, d) + 1e-3);
    }
    return sum / (1.0 + sum);
}

// @block cf_waves field cost=3.5 needs=cb_wave
// Stripes bent by a sine across them.
// @param freq 2.5 8.0 freq
// @param amp 0.5 3.0
// @param sharp 0 1
// @param phase 0 6.2832 time
float cf_waves(vec2 p, float freq, float amp, float sharp, float phase) {
    return cb_wave(p.y * freq + amp * sin(0.6 * freq * p.x + phase), sharp);
}

// @block cf_zigzag field cost=1.5 needs=cb_tri,cb_wave
// Stripes bent by a triangle wave (chevrons).
// @param freq 2.5 8.0 freq
// @param amp 0.1 0.5
// @param zfreq 1.0 4.0
// @param sharp 0 1
float cf_zigzag(vec2 p, float freq, float amp, float zfreq, float sharp) {
    return cb_wave((p.y + amp * (2.0 * cb_tri(p.x * zfreq) - 1.0)) * freq, sharp);
}

// @block cf_weave field cost=1.5
// Over-under woven threads on a checkerboard of cells.
// @param freq 1.5 4.0 freq
float cf_weave(vec2 p, float freq) {
    vec2 q = p * freq;
    vec2 f = fract(q);
    bool over = mod(floor(q.x) + floor(q.y), 2.0) < 1.0;
    float across = over ? f.y : f.x;
    float along = over ? f.x : f.y;
    return sin(PI * across) * (0.55 + 0.45 * sin(PI * along));
}

// @block cf_gradient field cost=0.5 weight=0.4
// Linear ramp along a direction.
// @param angle 0 6.2832 time
// @param span 0.5 1.0
float cf_gradient(vec2 p, float angle, float span) {
    return clamp(0.5 + 0.5 * span * dot(p, vec2(cos(angle), sin(angle))), 0.0, 1.0);
}
