"""One shard: render its samples (with the quality filter) and write them as a WebDataset tar.

Shard ``k`` of a spec holds samples ``k*n .. k*n+n-1``. Its bytes are a pure function of
(spec, k) on a given renderer: samples are drawn by :mod:`unnatural.generator.sampling`, rejected
images are replaced by deterministic re-draws, members are written in index order with a fixed
mtime, owner and mode through webdataset's ``TarWriter``.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import BinaryIO, Callable

import numpy as np

from .encoders import make_encoder
from .quality import QualityFilter
from .renderer import Renderer, ShaderCompileError
from .sampling import ProgramTable

MAX_ATTEMPTS = 8          # replacement rounds; the last round's images are kept as they are
TAR_MTIME = 0           # fixed member mtime (an int: a float forces a PAX header per member)
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
    rejects the same images produces the same dataset. ``on_images(n)`` reports progress.
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
        for prog in np.unique(draw.program):
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


def encode_samples(table: ProgramTable, samples: ShardSamples) -> list[dict]:
    """WebDataset records of ``samples`` in index order: ``{"__key__", <format>, "json", "cls"}``.

    ``<format>`` holds the encoded image, ``json`` the metadata (spec hash, program id, family,
    class, time, params, index, attempt; for a fitted spec also ``fitted_class``, the index of the
    teacher class the sample was drawn for, and ``fitted_class_name``), ``cls`` the class index
    (the program's family) as text; all values are bytes.
    """
    spec = table.spec
    encode = make_encoder(spec.format, spec.quality)
    spec_hash = spec.spec_hash
    records = []
    for j, index in enumerate(samples.indices.tolist()):
        prog = int(samples.program[j])
        meta = {
            "index": index,
            "spec_hash": spec_hash,
            "program_id": table.program_ids[prog],
            "family": table.family(prog),
            "cls": int(table.cls[prog]),
            "time": float(samples.time[j]),
            "params": samples.params[j].tolist(),
            "attempt": int(samples.attempt[j]),
        }
        if table.fitted_classes is not None:
            target = int(samples.target[j])
            meta["fitted_class"] = target
            meta["fitted_class_name"] = table.fitted_classes[target]
        records.append({
            "__key__": sample_key(index),
            spec.format: encode(samples.images[j]),
            "json": json.dumps(meta, sort_keys=True).encode(),
            "cls": str(meta["cls"]).encode(),
        })
    return records


def write_tar(fileobj: BinaryIO, records: list[dict]) -> None:
    """Write records as a WebDataset tar through webdataset's ``TarWriter`` to ``fileobj``
    (anything with ``write``): members of a sample adjacent, names sorted, fixed mtime/owner."""
    import webdataset as wds  # imports torch (~2 s): only where a tar is written

    with wds.TarWriter(fileobj, encoder=False, mtime=TAR_MTIME) as writer:
        for record in records:
            writer.write(record)


def tar_members(records: list[dict]) -> bytes:
    """The tar members :func:`write_tar` writes for ``records``, without the end-of-archive.

    Members are self-contained 512-byte-aligned blocks, so the members of consecutive chunks of
    a shard, concatenated and closed by :func:`tar_end`, are byte for byte :func:`write_tar` of
    the whole shard: this is how a shard streams while it renders.
    """
    import io

    import webdataset as wds

    buf = io.BytesIO()
    writer = wds.TarWriter(buf, encoder=False, mtime=TAR_MTIME)
    for record in records:
        writer.write(record)
    members = writer.tarstream.offset  # bytes of headers + padded data written so far
    writer.close()
    return buf.getvalue()[:members]


def tar_end(length: int) -> bytes:
    """End-of-archive after ``length`` bytes of members, as Python's ``tarfile`` writes it: two
    zero blocks, then zeros up to a multiple of the 10240-byte record (POSIX ustar blocking)."""
    import tarfile

    end = length + 2 * tarfile.BLOCKSIZE
    return bytes(2 * tarfile.BLOCKSIZE + (-end) % tarfile.RECORDSIZE)
