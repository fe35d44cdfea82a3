"""The shader library: hand-written GLSL families, composer building blocks, catalogue."""
