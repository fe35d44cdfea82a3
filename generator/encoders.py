"""Image encoders: ``(H, W, 3) uint8`` -> bytes of one webdataset field.

``png`` is lossless at zlib level 1 (fast; docs/METHODS.md §7 measures Pillow at 18k img/s at
32 px), ``jpg`` and ``webp`` take a quality, ``npy`` stores the raw array with an ``.npy``
header (no encode cost; webdataset decodes it with ``numpy.load``). All are deterministic for
a given library version, so shard bytes are reproducible.
"""
from __future__ import annotations

import io
from typing import Callable

import numpy as np
from PIL import Image

from .spec import FORMATS


def _npy_header(shape: tuple[int, ...]) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "|u1", "fortran_order": False, "shape": shape})
    return buf.getvalue()  # magic + version + padded dict: what numpy.save writes first


def make_encoder(fmt: str, quality: int = 90) -> Callable[[np.ndarray], bytes]:
    """Return ``encode(image) -> bytes`` for ``fmt`` in ``png | jpg | webp | npy``.

    Raises:
        ValueError: unknown format (names the allowed ones) or quality outside 1..100.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is unknown: allowed {' | '.join(FORMATS)}")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality {quality!r} out of range: allowed 1..100")
    if fmt == "npy":
        headers: dict[tuple[int, ...], bytes] = {}

        def encode_npy(image: np.ndarray) -> bytes:
            header = headers.get(image.shape)
            if header is None:
                header = headers[image.shape] = _npy_header(image.shape)
            return header + np.ascontiguousarray(image).tobytes()

        return encode_npy
    options = {
        "png": {"format": "PNG", "compress_level": 1},
        "jpg": {"format": "JPEG", "quality": quality},
        "webp": {"format": "WEBP", "quality": quality, "method": 0},
    }[fmt]

    def encode_pil(image: np.ndarray) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(image, "RGB").save(buf, **options)
        return buf.getvalue()

    return encode_pil
