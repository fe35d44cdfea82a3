"""One shard: render its samples (with the quality filter) and write them as a WebDataset tar.

Shard ``k`` of a spec holds samples ``k*n .. k*n+n-1``. Its bytes are a pure function of
(spec, k) on a given renderer: samples are drawn by :mod:`unnatural.generator.sampling`, rejected
images are replaced by deterministic re-draws, members are written in index order with a fixed
mtime, owner and mode by :mod:`unnatural.generator.tar` (the bytes webdataset's ``TarWriter``
writes).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .encoders import make_encoder
from .metadata import metadata_json
from .quality import QualityFilter
from .renderer import Renderer, ShaderCompileError
from .sampling import ProgramTable
from .tar import Records

MAX_ATTEMPTS = 8          # replacement rounds; the last round's images are kept as they are
KEY_DIGITS = 10           # sample keys are zero-padded indices: up to 10**10 samples, no dots


def sample_key(index: int) -> str:
    return f"{index:0{KEY_DIGITS}d}"


@dataclass
class ShardSamples:
    """Rendered samples of one shard, in index order.

    Attributes:
        indices: ``(N,) int64`` sample indices.
        images: ``(N, H, W, 3) uint8``.
        program: ``(N,) int64`` program-table entries; ``time`` ``(N,) float32`` seconds;
            ``params`` ``(N, 16) float32``; ``attempt`` ``(N,) int64`` replacement round used.
        target: ``(N,) int64`` fitted class each sample was drawn for; -1 for a plain spec
            (``None`` stands for all -1).
        rejected_at: (position, program_id) -> rejected draws at that position, so a slice
            keeps its own counts (``rejected`` sums them per program).
    """

    indices: np.ndarray
    images: np.ndarray
    program: np.ndarray
    time: np.ndarray
    params: np.ndarray
    attempt: np.ndarray
    target: np.ndarray | None = None
    rejected_at: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if self.target is None:
            self.target = np.full(len(self.indices), -1, dtype=np.int64)

    @property
    def rejected(self) -> Counter:
        """program_id -> number of images the filter (or a compile failure) rejected."""
        counts: Counter = Counter()
        for (_, program_id), count in self.rejected_at.items():
            counts[program_id] += count
        return counts

    def select(self, part: slice) -> "ShardSamples":
        """The samples in positions ``part`` (a contiguous slice), with their own rejections."""
        lo, hi = part.indices(len(self.indices))[:2]
        return ShardSamples(self.indices[part], self.images[part], self.program[part], self.time[part],
                            self.params[part], self.attempt[part], self.target[part],
                            Counter({(p - lo, pid): c for (p, pid), c in self.rejected_at.items() if lo <= p < hi}))


def join_samples(parts: list[ShardSamples]) -> ShardSamples:
    """Consecutive :class:`ShardSamples` as one, in the given order (positions of the
    rejection counts shifted accordingly). Raises ``ValueError`` for an empty list."""
    if not parts:
        raise ValueError("join_samples needs at least one part")
    rejected: Counter = Counter()
    offset = 0
    for part in parts:
        rejected.update({(p + offset, pid): c for (p, pid), c in part.rejected_at.items()})
        offset += len(part.indices)
    columns = ("indices", "images", "program", "time", "params", "attempt", "target")
    return ShardSamples(*(np.concatenate([getattr(p, name) for p in parts]) for name in columns), rejected)


def render_samples(
    table: ProgramTable,
    renderer: Renderer,
    indices: np.ndarray,
    quality: QualityFilter = QualityFilter(),
    on_images: Callable[[int], None] | None = None,
) -> ShardSamples:
    """Render samples ``indices`` of ``table.spec``, grouped by program (one compile, few draws).

    Rejected images (filter reasons or a program that fails to compile on this driver) are
    re-drawn with ``attempt + 1``: a pure function of (spec, index), so every renderer that
    rejects the same images produces the same dataset. Programs are rendered from
    ``renderer.program_offset`` on, round the list. ``on_images(n)`` reports progress.
    """
    spec = table.spec
    indices = np.asarray(indices, dtype=np.int64)
    n = len(indices)
    out = ShardSamples(
        indices=indices,
        images=np.empty((n, spec.height, spec.width, 3), dtype=np.uint8),
        program=np.empty(n, dtype=np.int64),
        time=np.empty(n, dtype=np.float32),
        params=np.empty((n, 16), dtype=np.float32),
        attempt=np.empty(n, dtype=np.int64),
        target=np.full(n, -1, dtype=np.int64),
    )
    pending = np.arange(n)
    for attempt in range(MAX_ATTEMPTS):
        draw = table.draw(indices[pending], attempt)
        retry = []
        last = attempt == MAX_ATTEMPTS - 1
        programs = np.unique(draw.program)
        # Start at the renderer's offset: the output does not depend on the order, and pooled
        # renderers with a cold shader cache then compile different programs first.
        for prog in np.roll(programs, -int(len(programs) * renderer.program_offset)):
            sel = np.flatnonzero(draw.program == prog)
            pos = pending[sel]
            try:
                images, nonfinite = renderer.render(table.source(prog), draw.time[sel], draw.params[sel], spec.size)
                ok = np.ones(len(sel), bool) if last else quality.accept(images, nonfinite)
            except ShaderCompileError:
                if last:
                    raise
                images, ok = None, np.zeros(len(sel), bool)
            if images is not None:
                keep = pos[ok]
                out.images[keep] = images[ok]
                out.program[keep] = prog
                out.time[keep] = draw.time[sel][ok]
                out.params[keep] = draw.params[sel][ok]
                out.attempt[keep] = attempt
                if draw.target is not None:
                    out.target[keep] = draw.target[sel][ok]
            if not ok.all():
                program_id = table.program_ids[prog]
                out.rejected_at.update((position, program_id) for position in pos[~ok].tolist())
                retry.append(pos[~ok])
            if on_images is not None and ok.any():
                on_images(int(ok.sum()))
        if not retry:
            break
        pending = np.sort(np.concatenate(retry))
    return out


def encode_samples(table: ProgramTable, samples: ShardSamples) -> Records:
    """WebDataset records of ``samples`` in index order, fields ``<format>``, ``json``, ``cls``.

    ``<format>`` holds the encoded image, ``json`` the metadata (:func:`~.metadata.metadata_json`:
    spec hash, program id, family, class, time, params, index, attempt; for a fitted spec also
    ``fitted_class``, the index of the teacher class the sample was drawn for, and
    ``fitted_class_name``), ``cls`` the class index (the program's family) as text; keys are
    :func:`sample_key` of the indices. Every field is computed for the whole batch at once.
    """
    spec = table.spec
    cls_text = [str(c).encode() for c in table.cls.tolist()]
    return Records(
        keys=[sample_key(index) for index in samples.indices.tolist()],
        fields={
            spec.format: make_encoder(spec.format, spec.quality)(samples.images),
            "json": metadata_json(table, samples.indices, samples.program, samples.time, samples.params,
                                  samples.attempt, samples.target),
            "cls": [cls_text[prog] for prog in samples.program.tolist()],
        },
    )
