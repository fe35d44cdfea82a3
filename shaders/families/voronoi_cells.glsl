// family: voronoi_cells
// summary: cellular Voronoi patterns: flat-coloured cells, glowing F1 blobs, or crackle/edge networks (F2-F1)
// params: p0 palette; p1.x jitter, p1.y scale, p1.z style weights (id/F1/edges), p1.w edge width; p2.xy offset, p2.z rotation, p2.w domain warp; p3.x second layer scale, p3.y second layer weight, p3.z hue spread, p3.w brightness curve

void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec4 a = iParams[0], b = iParams[1], c = iParams[2], d = iParams[3];
    vec2 uv = centered(fragCoord);
    vec2 p = rot(TAU * c.z) * uv * mix(2.0, 9.0, b.y) + 20.0 * c.xy;
    // gentle warp bends the straight cell walls
    p += c.w * 0.6 * vec2(gnoise(p * 0.5 + 3.1), gnoise(p * 0.5 - 7.7));
    p += 0.2 * iTime * vec2(0.3, -0.2);
    float jit = mix(0.3, 1.0, b.x);
    vec3 v = voronoi(p, jit);
    float f1 = v.x, edge = v.y - v.x, id = v.z;

    // style blend: 0 = flat cells, ~0.5 = F1 shading, 1 = crack network
    float s = b.z;
    float ew = mix(0.03, 0.25, b.w);
    float line = smoothstep(ew, ew + 0.06, edge);
    vec3 cells = palette(id * mix(0.3, 1.5, d.z), a);
    vec3 blobs = palette(f1 * 1.2 + id * 0.3 + 0.2, a);
    vec3 cracks = mix(palette(0.7 + edge, a.wxyz), cells * 0.35, line);
    vec3 col = s < 0.5 ? mix(cells * mix(1.0, 1.2 - f1, d.w), blobs, s * 2.0) * (0.25 + 0.75 * line)
                       : mix(blobs * (0.3 + 0.7 * line), cracks, s * 2.0 - 1.0);

    // optional finer second layer scribbles its own edges on top
    if (d.y > 0.4) {
        vec3 v2 = voronoi(p * mix(2.0, 4.0, d.x) + 11.0, jit);
        col *= mix(1.0, smoothstep(0.0, 0.12, v2.y - v2.x), (d.y - 0.4) * 1.4);
    }
    fragColor = vec4(col, 1.0);
}
