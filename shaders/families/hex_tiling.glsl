// family: hex_tiling
// summary: periodic hexagonal tilings and their subdivisions (hexagons, triangles, 3D-looking rhombus cubes, square grid) with per-cell colours, grout lines and gentle warps
// params: p0 palette; p1.x tiling (hex/triangles/rhombus cubes/squares), p1.y scale, p1.z grout width, p1.w inner rings; p2.x rotation, p2.y warp amount, p2.z colour randomness, p2.w seed; p3.x cell gradient, p3.y grout brightness, p3.z palette spread, p3.w time ripple

const vec2 hex_tiling_S = vec2(1.0, 1.7320508);   // hex lattice period: (1, sqrt 3)

// Nearest hexagon centre: returns (offset from centre, centre id).
vec4 hex_tiling_cell(vec2 p) {
    vec2 a = mod(p, hex_tiling_S) - 0.5 * hex_tiling_S;
    vec2 b = mod(p - 0.5 * hex_tiling_S, hex_tiling_S) - 0.5 * hex_tiling_S;
    vec2 g = dot(a, a) < dot(b, b) ? a : b;
    return vec4(g, p - g);
}

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], c = iParams[2], d = iParams[3];
    vec2 uv = rot(TAU * c.x) * centered(fragCoord);
    float sc = mix(2.0, 6.5, b.y);
    vec2 p = uv * sc;
    p += c.y * 0.6 * vec2(gnoise(uv * 1.5 + 11.0 * c.w), gnoise(uv * 1.5 - 7.0));   // warp

    int kind = int(b.x * 4.0);
    if (kind == 1) p *= 0.6;          // triangles are small: use bigger hexagons
    vec2 local, id;
    float edge, sub = 0.0;            // edge: distance to the cell boundary; sub: sub-cell index
    if (kind == 3) {
        // square grid (offset every other row like bricks when the seed says so)
        vec2 q = p * 1.3;
        if (c.w > 0.5) q.x += 0.5 * mod(floor(q.y), 2.0);
        id = floor(q);
        local = fract(q) - 0.5;
        edge = 0.5 - max(abs(local.x), abs(local.y));
    } else {
        vec4 h = hex_tiling_cell(p);
        local = h.xy;
        id = floor(h.zw * 2.0 + 0.5);
        vec2 ap = abs(local);
        edge = 0.5 - max(dot(ap, vec2(0.5, 0.8660254)), ap.x);   // hexagon distance
        float ang = atan(local.y, local.x);
        if (kind == 1) {
            // six triangles: sector index and distance to the sector's spokes
            // spokes run to the vertices at 30 + 60k degrees
            sub = floor((ang - PI / 6.0) / (PI / 3.0) + 3.0);
            float sa = mod(ang - PI / 6.0, PI / 3.0) - PI / 6.0;
            edge = min(edge, length(local) * abs(sin(PI / 6.0 - abs(sa))));
        } else if (kind == 2) {
            // three rhombi per hexagon (spokes to alternate vertices at -90, 30, 150 degrees):
            // the tumbling-blocks cube illusion
            sub = mod(floor((ang + PI / 2.0) / (TAU / 3.0)), 3.0);
            float sa = mod(ang + PI / 2.0, TAU / 3.0) - PI / 3.0;
            edge = min(edge, length(local) * abs(sin(PI / 3.0 - abs(sa))));
        }
    }
    float r = hash21(id + 97.0 * c.w + sub * 13.0);
    float t = r * mix(0.25, 1.0, c.z) * mix(0.4, 1.2, d.z) + sub * 0.15 + d.z;
    vec3 col = palette(t, a);
    if (kind == 2) col *= 0.55 + 0.22 * sub;                       // cube faces lit differently
    col *= mix(1.0, 0.6 + 0.8 * (local.y + 0.5), d.x * 0.6);      // per-cell gradient
    // concentric rings inside each cell
    col *= mix(1.0, 0.75 + 0.25 * cos(edge * mix(20.0, 50.0, b.w) - iTime * d.w * 3.0), step(0.5, b.w));
    // grout lines
    float gw = mix(0.01, 0.06, b.z);
    float aa = min(sc / iResolution.y, 0.05);   // ~1 pixel, capped for tiny renders
    vec3 grout = palette(d.y + 0.5, a.wxyz) * mix(0.05, 0.9, d.y);
    col = mix(grout, col, smoothstep(gw, gw + aa, edge));
    fragColor = vec4(col, 1.0);
}
