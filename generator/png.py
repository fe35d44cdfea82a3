"""PNG encoding of a batch, byte for byte what Pillow writes with ``compress_level=1``.

Pillow encodes one image at a time and chooses each row's filter in C, but its per-image
Python overhead (an ``Image`` object, a ``BytesIO``, the plugin's chunk writer) dominates at
small sizes. Here the row filters of a whole batch are computed and chosen in numpy, the same
way Pillow's ZIP encoder chooses them, and only zlib and the chunk framing run per image.
Measured in ``bench/encoders.py`` (docs/BENCHMARKS.md).

Pillow's rule, per row: the filtered bytes ``v`` (uint8) cost ``sum(min(v, 256 - v))``;
filters are tried in the order None, Up, Sub, Paeth (Average only with ``optimize``), and a
later one is taken only when strictly cheaper; the row above the first is black. The filtered
rows go through one zlib stream (level 1, 15-bit window, memory level 9, default strategy),
cut into IDAT chunks of ``IDAT_BYTES``.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
IDAT_BYTES = 65536        # Pillow's ImageFile.MAXBLOCK: the encoder's output buffer
BATCH_BYTES = 256 << 10   # pixels filtered at once
_FILTER_TYPES = np.array([0, 2, 1, 4], dtype=np.uint8)   # None, Up, Sub, Paeth: Pillow's order


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


def _cost(filtered: np.ndarray) -> np.ndarray:
    """Pillow's row cost: sum over the last axis of each byte's distance from zero modulo 256,
    ``min(v, 256 - v)``, which is ``|v|`` of the byte read as int8 (-128 wraps to 128 as uint8)."""
    return np.abs(filtered.view(np.int8)).view(np.uint8).sum(axis=-1, dtype=np.int32)


def filtered_rows(images: np.ndarray) -> np.ndarray:
    """``(N, H, W, 3) uint8`` -> ``(N, H, 1 + 3W) uint8``: each row with its filter-type byte
    first, filtered as Pillow's encoder filters it."""
    n, height, width = images.shape[:3]
    x = images.reshape(n, height, width * 3)
    up = np.zeros_like(x)
    up[:, 1:] = x[:, :-1]
    left = np.zeros_like(x)
    left[:, :, 3:] = x[:, :, :-3]
    up_left = np.zeros_like(x)
    up_left[:, 1:, 3:] = x[:, :-1, :-3]
    c = up_left.astype(np.int16)
    b_c, a_c = up - c, left - c                          # int16: b - c and a - c
    pa, pb, pc = np.abs(b_c), np.abs(a_c), np.abs(b_c + a_c)
    paeth = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, up_left))
    candidates = np.stack([x, x - up, x - left, x - paeth])              # (4, N, H, 3W)
    best = np.argmin(_cost(candidates), axis=0)                         # first minimum: Pillow's tie rule
    out = np.empty((n, height, 1 + width * 3), dtype=np.uint8)
    out[:, :, 0] = _FILTER_TYPES[best]
    rows = candidates.reshape(4, n * height, width * 3)
    out[:, :, 1:] = rows[best.reshape(-1), np.arange(n * height)].reshape(n, height, width * 3)
    return out


def encode_png(images: np.ndarray) -> list[bytes]:
    """``(N, H, W, 3) uint8`` -> ``N`` PNG files (8-bit RGB, not interlaced), each equal to
    ``Image.fromarray(image).save(buf, format="PNG", compress_level=1)``."""
    n, height, width = images.shape[:3]
    header = SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    end = _chunk(b"IEND", b"")
    out = []
    # Batches of ~BATCH_BYTES of pixels keep numpy's temporaries in the CPU caches.
    step = max(1, BATCH_BYTES // (height * width * 3))
    for start in range(0, n, step):
        for rows in filtered_rows(images[start:start + step]):
            z = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY)
            data = z.compress(rows.tobytes()) + z.flush()
            idat = b"".join(_chunk(b"IDAT", data[i:i + IDAT_BYTES]) for i in range(0, len(data), IDAT_BYTES))
            out.append(header + idat + end)
    return out
