"""Batched tile renderer: many images of one program per draw call, one readback.

Method (docs/DESIGN.md "Batch inside the GPU"): an atlas framebuffer holds a grid of tiles; one
instanced draw gives every tile its own ``iTime`` and ``iParams``; one ``glReadPixels`` reads
the atlas; numpy slices the tiles and flips rows into image order (GL's origin is bottom-left).
Compiling a program costs 60-200 ms on llvmpipe (docs/METHODS.md §7), so compiled programs are
cached per renderer and callers batch their work by program.
"""
from __future__ import annotations

from collections import OrderedDict

import moderngl
import numpy as np

from .context import create_context, make_current
from .program import N_PARAMS, VERTEX_SHADER, ProgramSource
from .spec import MAX_SIZE, MIN_SIZE

_INSTANCE_FORMAT = ("2f", "1f", "4f", "4f", "4f", "4f")  # 19 floats per instance
_INSTANCE_ATTRS = ("in_origin", "in_time", "in_p0", "in_p1", "in_p2", "in_p3")


class ShaderCompileError(ValueError):
    """A program failed to compile or link; ``log`` holds the driver's message."""

    def __init__(self, program_id: str, log: str):
        super().__init__(f"program {program_id!r} failed to compile: {log.strip()}")
        self.program_id = program_id
        self.log = log


def check_size(width: int, height: int) -> None:
    """Raise ``ValueError`` unless both sides are in [MIN_SIZE, MAX_SIZE] pixels."""
    for name, value in (("width", width), ("height", height)):
        if not (isinstance(value, (int, np.integer)) and MIN_SIZE <= value <= MAX_SIZE):
            raise ValueError(f"image {name} {value!r} out of range: allowed {MIN_SIZE}..{MAX_SIZE} pixels")


class Renderer:
    """Renders ``(N, H, W, 3) uint8`` batches of one program on a headless GL context.

    Args:
        ctx: a moderngl context; ``None`` creates one with :func:`create_context`.
        max_atlas: atlas side in pixels (one framebuffer of this size serves every draw).
            2048 keeps a readback at 16 MiB while holding 4096 tiles of 32x32; must be at
            least MAX_SIZE (1024) so one image always fits.
        cache_size: compiled programs kept (least recently used are released).

    Attributes:
        program_offset: where in ``[0, 1)`` of a batch's programs this renderer starts
            (:func:`~.shard.render_samples`); pooled renderers get different offsets.
    """

    def __init__(self, ctx: moderngl.Context | None = None, max_atlas: int = 2048, cache_size: int = 512):
        if max_atlas < MAX_SIZE + 1:
            raise ValueError(f"max_atlas {max_atlas} too small: allowed >= {MAX_SIZE + 1} pixels")
        self.ctx = ctx or create_context()
        make_current(self.ctx)
        self.max_atlas = max_atlas
        self.cache_size = cache_size
        self.program_offset = 0.0
        self._programs: OrderedDict[str, tuple[moderngl.Program, moderngl.VertexArray]] = OrderedDict()
        self._fbo: moderngl.Framebuffer | None = None
        self._corners = self.ctx.buffer(np.array([0, 0, 1, 0, 0, 1, 1, 1], dtype="f4").tobytes())
        self._instances = self.ctx.buffer(reserve=4 * 19 * 64, dynamic=True)

    # -- programs ---------------------------------------------------------------------------
    def compile(self, program: ProgramSource) -> moderngl.Program:
        """Compile (or fetch from cache) a program. Raises :class:`ShaderCompileError`."""
        return self._compiled(program)[0]

    def _compiled(self, program: ProgramSource) -> tuple[moderngl.Program, moderngl.VertexArray]:
        make_current(self.ctx)
        key = f"{program.program_id}:{program.digest}"
        entry = self._programs.get(key)
        if entry is None:
            try:
                prog = self.ctx.program(vertex_shader=VERTEX_SHADER, fragment_shader=program.fragment_shader())
            except moderngl.Error as exc:
                raise ShaderCompileError(program.program_id, str(exc)) from exc
            entry = (prog, self._vertex_array(prog))
            self._programs[key] = entry
            while len(self._programs) > self.cache_size:
                _, (old_prog, old_vao) = self._programs.popitem(last=False)
                old_vao.release()
                old_prog.release()
        self._programs.move_to_end(key)
        return entry

    def _vertex_array(self, prog: moderngl.Program) -> moderngl.VertexArray:
        # Attributes the compiler optimised away (e.g. a program that ignores iParams) must be
        # skipped in the layout with padding so the per-instance stride stays 19 floats.
        fmt, names = [], []
        for spec, name in zip(_INSTANCE_FORMAT, _INSTANCE_ATTRS):
            if name in prog:
                fmt.append(spec)
                names.append(name)
            else:
                fmt.append(f"{int(spec[0]) * 4}x")
        return self.ctx.vertex_array(
            prog,
            [(self._corners, "2f", "in_corner"), (self._instances, " ".join(fmt) + "/i", *names)],
        )

    # -- rendering --------------------------------------------------------------------------
    def render(
        self,
        program: ProgramSource,
        times: np.ndarray,
        params: np.ndarray,
        size: tuple[int, int],
        tiled: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Render one image per (time, params) row.

        Args:
            program: the program to draw.
            times: ``(N,)`` float, ``iTime`` per image in seconds.
            params: ``(N, 16)`` float, ``iParams`` per image (row-major vec4[4]).
            size: ``(width, height)`` in pixels, each in [8, 1024].
            tiled: ``True`` packs many images per draw; ``False`` draws one image per call
                (the naive Shaders21k way, kept for equivalence tests and benchmarks).

        Returns:
            ``images`` ``(N, H, W, 3) uint8`` in image row order (top row first) and
            ``nonfinite`` ``(N,) float32``: fraction of pixels whose colour was NaN/Inf.

        Raises:
            ValueError: bad size or mismatched array shapes.
            ShaderCompileError: the program does not compile.
        """
        width, height = size
        check_size(width, height)
        times = np.ascontiguousarray(times, dtype=np.float32).reshape(-1)
        params = np.ascontiguousarray(params, dtype=np.float32)
        n = times.shape[0]
        if params.shape != (n, N_PARAMS):
            raise ValueError(f"params shape {params.shape} != ({n}, {N_PARAMS})")
        prog, vao = self._compiled(program)
        if "iResolution" in prog:
            prog["iResolution"].value = (float(width), float(height), 1.0)
        if "u_tile" in prog:
            prog["u_tile"].value = (float(width), float(height))

        # Even pitches keep 2x2 pixel quads (used for derivatives) inside one tile.
        pitch_w, pitch_h = width + (width & 1), height + (height & 1)
        cols = max(1, min(n, self.max_atlas // pitch_w)) if tiled else 1
        rows_max = max(1, self.max_atlas // pitch_h) if tiled else 1
        out = np.empty((n, height, width, 3), dtype=np.uint8)
        nonfinite = np.empty(n, dtype=np.float32)
        start = 0
        while start < n:
            count = min(n - start, cols * rows_max)
            rows = -(-count // cols)
            atlas_w, atlas_h = cols * pitch_w, rows * pitch_h
            fbo = self._framebuffer()
            fbo.use()
            self.ctx.viewport = (0, 0, atlas_w, atlas_h)
            if "u_atlas" in prog:
                prog["u_atlas"].value = (float(atlas_w), float(atlas_h))
            slot = np.arange(count)
            inst = np.empty((count, 19), dtype=np.float32)
            inst[:, 0] = (slot % cols) * pitch_w
            inst[:, 1] = (slot // cols) * pitch_h
            inst[:, 2] = times[start:start + count]
            inst[:, 3:] = params[start:start + count]
            data = inst.tobytes()
            if self._instances.size < len(data):
                self._instances.orphan(len(data))
            self._instances.write(data)
            vao.render(moderngl.TRIANGLE_STRIP, instances=count)
            raw = np.frombuffer(fbo.read(viewport=(0, 0, atlas_w, atlas_h), components=4), dtype=np.uint8)
            # (rows, pitch_h, cols, pitch_w, 4) -> (rows, cols, H, W, 4) tiles, each tile's rows
            # flipped to top-first; a view: RGB is copied once, straight into ``out``.
            grid = raw.reshape(rows, pitch_h, cols, pitch_w, 4)[:, height - 1::-1, :, :width].transpose(0, 2, 1, 3, 4)
            full, rest = divmod(count, cols)
            block = out[start:start + full * cols].reshape(full, cols, height, width, 3)
            block[...] = grid[:full, ..., :3]
            if rest:
                out[start + full * cols:start + count] = grid[full, :rest, ..., :3]
            # Alpha 0 marks a NaN/Inf pixel (the fragment shader's check).
            blank = np.count_nonzero(grid[..., 3] == 0, axis=(2, 3)).reshape(-1)[:count]
            nonfinite[start:start + count] = blank / (height * width)
            start += count
        return out, nonfinite

    def _framebuffer(self) -> moderngl.Framebuffer:
        # One max_atlas^2 RGBA8 target for every draw (the viewport selects the part in use):
        # per-batch allocations cost more than the draws themselves on llvmpipe.
        if self._fbo is None:
            rbo = self.ctx.renderbuffer((self.max_atlas, self.max_atlas), components=4, dtype="f1")
            self._fbo = self.ctx.framebuffer(color_attachments=[rbo])
        return self._fbo
