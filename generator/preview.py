"""Contact sheets: a labelled grid of sample images, one row per program, as a PNG.

For people to look at what a family, a composed program or a user shader produces across
parameter draws before they render a dataset.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from .program import N_PARAMS, ProgramSource
from .renderer import Renderer, ShaderCompileError
from .sampling import uniforms

LABEL_WIDTH = 150
GAP = 2


def contact_sheet(
    programs: list[ProgramSource],
    renderer: Renderer | None = None,
    size: int = 64,
    columns: int = 8,
    seed: int = 0,
    time_range: tuple[float, float] = (0.1, 10.0),
) -> Image.Image:
    """Render ``columns`` draws of each program into one labelled RGB image.

    Row ``r`` uses draws ``uniforms(seed, 0..columns-1, attempt=r)``: deterministic per seed.
    A program that fails to compile gets a red row (the sheet is for looking, not for data).

    Returns:
        ``PIL.Image`` of ``(LABEL_WIDTH + columns*(size+2)) x (rows*(size+2))`` pixels.
    """
    renderer = renderer or Renderer()
    cell = size + GAP
    sheet = Image.new("RGB", (LABEL_WIDTH + columns * cell, max(1, len(programs)) * cell), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    for row, program in enumerate(programs):
        u = uniforms(seed, np.arange(columns), attempt=row, streams=1 + N_PARAMS)
        times = time_range[0] + (time_range[1] - time_range[0]) * u[:, 0]
        try:
            images, _ = renderer.render(program, times, u[:, 1:], (size, size))
        except ShaderCompileError:
            images = np.zeros((columns, size, size, 3), np.uint8)
            images[..., 0] = 200
        for col in range(columns):
            sheet.paste(Image.fromarray(images[col]), (LABEL_WIDTH + col * cell, row * cell))
        draw.text((4, row * cell + size // 2 - 6), program.program_id[:22], fill=(230, 230, 230))
    return sheet


def library_programs(families: list[str] | None = None, composed: int = 0) -> list[ProgramSource]:
    """Sources of hand-written ``families`` (``None``: all, in class order) followed by the
    composed programs of composer seeds ``0..composed-1``.

    Raises:
        KeyError: an unknown family (the message lists the allowed ones).
    """
    from unnatural.shaders import family_names, family_source

    from .composer import compose

    names = list(family_names()) if families is None else families
    return [ProgramSource(n, n, family_source(n)) for n in names] + [compose(seed) for seed in range(composed)]


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()
