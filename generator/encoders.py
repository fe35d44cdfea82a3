"""Image encoders: a batch ``(N, H, W, 3) uint8`` -> one bytes-like value per image, the
webdataset field of each sample.

``png`` is lossless at zlib level 1 (fast; docs/METHODS.md §7 measures Pillow at 18k img/s at
32 px; small images go through :func:`~.png.encode_png`, the same bytes for less), ``jpg``
(Pillow: simplejpeg is ~2x faster but writes other bytes, docs/BENCHMARKS.md) and ``webp`` take a quality, ``npy`` stores the raw array with an ``.npy``
header (no encode cost; webdataset decodes it with ``numpy.load``). All are deterministic for
a given library version, so shard bytes are reproducible.
"""
from __future__ import annotations

import io
from collections.abc import Callable
from functools import partial

import numpy as np
from PIL import Image

from .png import encode_png
from .spec import FORMATS

Encoder = Callable[[np.ndarray], list]
# Up to this many pixels per image, png goes through the batch encoder of .png (2-3x faster
# than Pillow at 32 px); above, Pillow's per-row C loop is faster (bench/encoders.py).
PNG_BATCH_MAX_PIXELS = 64 * 64


def npy_header(shape: tuple[int, ...]) -> bytes:
    """What ``numpy.save`` writes before the data of a C-order ``uint8`` array of ``shape``:
    magic, version 1.0 and the padded header dict."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "|u1", "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _encode_npy(images: np.ndarray) -> list[memoryview]:
    # Header and pixels of every image laid out in one array: no per-image concatenation.
    n = len(images)
    header = np.frombuffer(npy_header(images.shape[1:]), dtype=np.uint8)
    rows = np.empty((n, len(header) + int(np.prod(images.shape[1:]))), dtype=np.uint8)
    rows[:, :len(header)] = header
    rows[:, len(header):] = images.reshape(n, -1)
    flat = memoryview(rows).cast("B")
    step = rows.shape[1]
    return [flat[i * step:(i + 1) * step] for i in range(n)]


def encode_pillow(images: np.ndarray, **options) -> list[bytes]:
    """``(N, H, W, 3) uint8`` -> ``N`` files written by Pillow's ``Image.save(buf, **options)``
    (e.g. ``format="JPEG", quality=90``), one image at a time."""
    out = []
    for image in images:
        buf = io.BytesIO()
        Image.fromarray(image, "RGB").save(buf, **options)
        out.append(buf.getvalue())
    return out


def make_encoder(fmt: str, quality: int = 90) -> Encoder:
    """Return ``encode(images) -> list`` for ``fmt`` in ``png | jpg | webp | npy``: ``images``
    is ``(N, H, W, 3) uint8``; the list holds ``N`` bytes-like values (bytes, or memoryviews
    into one buffer for ``npy``).

    Raises:
        ValueError: unknown format (names the allowed ones) or quality outside 1..100.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is unknown: allowed {' | '.join(FORMATS)}")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality {quality!r} out of range: allowed 1..100")
    if fmt == "npy":
        return _encode_npy
    options = {
        "png": {"format": "PNG", "compress_level": 1},
        "jpg": {"format": "JPEG", "quality": quality},
        "webp": {"format": "WEBP", "quality": quality, "method": 0},
    }[fmt]

    encode_pil = partial(encode_pillow, **options)
    if fmt != "png":
        return encode_pil

    def encode_png_fastest(images: np.ndarray) -> list[bytes]:
        # Same bytes either way; the batch encoder wins on small images only.
        small = images.shape[1] * images.shape[2] <= PNG_BATCH_MAX_PIXELS
        return encode_png(images) if small else encode_pil(images)

    return encode_png_fastest
