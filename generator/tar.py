"""WebDataset tars written directly: POSIX ustar headers from one template, a batch at a time.

The bytes are exactly those of webdataset's ``TarWriter(fileobj, encoder=False, mtime=0)``
(Python's ``tarfile`` underneath): per sample, one member ``<key>.<field>`` per field in sorted
field order; mode 0444, owner and group ``bigdata`` (uid/gid 0), mtime 0; data padded to 512-byte
blocks; the archive closed by two zero blocks and zeros up to a 10240-byte record.

Why our own writer: the tar writer is the core of what this project makes and runs for every
sample. Through ``TarWriter``, ``tarfile`` builds each header in Python (~50 µs per member,
~150-170 µs per 3-member sample, more than shading the image on llvmpipe), and importing
webdataset pulls torch (~195 MiB resident and ~2 s of start-up) into every render process.
Here every header of a batch is one row of a numpy array filled column-wise (names, sizes,
checksums), and the members are one ``bytes.join``. Measured by ``bench/tar.py`` on 32 px npy
samples (2-core VM, load 5.7): 7.4 µs per sample here, 171 µs through ``TarWriter`` (23x);
docs/BENCHMARKS.md.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

BLOCK = 512                   # tar block: headers and padded data
RECORD = 20 * BLOCK           # tarfile's record: the archive's length is a multiple of it
MODE = 0o444                  # webdataset's TarWriter defaults, which our shards always used
OWNER = b"bigdata"
NAME_BYTES = 100              # a longer or non-ASCII name would need a PAX header: refused
MAX_SIZE = 8 ** 11            # the 11 octal digits of the size field
_NAME, _SIZE_DIGITS, _CHECKSUM_DIGITS = slice(0, 100), slice(124, 135), slice(148, 154)
_OCTAL_SHIFTS = 3 * np.arange(10, -1, -1)   # 11 octal digits, most significant first
_PADDING = [bytes(n) for n in range(BLOCK)]

Bytes = bytes | bytearray | memoryview


def _template() -> np.ndarray:
    """``(512,) uint8``: a ustar header with an empty name, size 0 and the checksum field
    blank (eight spaces, as the checksum is computed)."""
    fields = [
        bytes(100),                                  # name (filled per member)
        b"%07o\0" % MODE, b"0000000\0", b"0000000\0",  # mode, uid, gid
        b"%011o\0" % 0, b"%011o\0" % 0,              # size (filled per member), mtime
        b" " * 8, b"0", bytes(100),                  # checksum, type (regular file), link name
        b"ustar\x0000", OWNER.ljust(32, b"\0"), OWNER.ljust(32, b"\0"),
        bytes(8), bytes(8), bytes(155),              # device major, minor (blank for files); prefix
    ]
    header = b"".join(fields)
    return np.frombuffer(header.ljust(BLOCK, b"\0"), dtype=np.uint8)


_TEMPLATE = _template()


@dataclass(frozen=True)
class Records:
    """WebDataset samples by column: sample ``i`` is ``keys[i]`` with ``fields[f][i]`` for each
    field name ``f`` (the member ``<key>.<f>``).

    Attributes:
        keys: ``N`` sample keys (ASCII, no dots).
        fields: field name (no leading ``_``: webdataset keeps those out of tars) -> ``N``
            bytes-like values (bytes, bytearray or memoryview).
    """

    keys: Sequence[str]
    fields: dict[str, Sequence[Bytes]]

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, part: slice) -> "Records":
        """The samples in positions ``part`` (a slice)."""
        return Records(self.keys[part], {name: values[part] for name, values in self.fields.items()})

    def as_dicts(self) -> list[dict]:
        """One ``{"__key__": key, field: bytes, ...}`` per sample: what ``TarWriter.write`` takes."""
        return [{"__key__": key, **{name: bytes(values[i]) for name, values in self.fields.items()}}
                for i, key in enumerate(self.keys)]


def headers(names: Sequence[bytes], sizes: np.ndarray) -> np.ndarray:
    """ustar headers of regular-file members.

    Args:
        names: ``M`` ASCII member names of at most 100 bytes.
        sizes: ``(M,)`` integer data sizes in bytes, ``0 <= size < 8**11``.

    Returns:
        ``(M, 512) uint8``, one header per row.

    Raises:
        ValueError: a name is empty, longer than 100 bytes or not ASCII, or a size is out of
            range (``TarWriter`` would add a PAX header there; these shards never need one).
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    if sizes.size and (sizes.min() < 0 or sizes.max() >= MAX_SIZE):
        raise ValueError(f"member sizes {sizes.min()}..{sizes.max()} out of range: allowed 0..{MAX_SIZE - 1} bytes")
    for name in names:
        if not 0 < len(name) <= NAME_BYTES or not name.isascii():
            raise ValueError(f"member name {name!r} not allowed: 1..{NAME_BYTES} ASCII bytes")
    out = np.tile(_TEMPLATE, (len(names), 1))
    out[:, _NAME] = np.array(names, dtype=f"S{NAME_BYTES}").view(np.uint8).reshape(len(names), NAME_BYTES)
    out[:, _SIZE_DIGITS] = ((sizes[:, None] >> _OCTAL_SHIFTS) & 7) + ord("0")
    # The checksum is the byte sum with the checksum field blank: six octal digits, NUL, space.
    checksum = out.sum(axis=1, dtype=np.int64)
    out[:, _CHECKSUM_DIGITS] = ((checksum[:, None] >> _OCTAL_SHIFTS[-6:]) & 7) + ord("0")
    out[:, _CHECKSUM_DIGITS.stop] = 0
    return out


def _member_parts(records: Records) -> tuple[list[Bytes], int]:
    """The pieces of the members of ``records`` in order (header, data, padding per member) and
    their total length in bytes."""
    fields = sorted(records.fields)
    values = [value for row in zip(*(records.fields[name] for name in fields)) for value in row]
    names = [f"{key}.{name}".encode() for key in records.keys for name in fields]
    sizes = [len(value) for value in values]
    block = headers(names, np.array(sizes, dtype=np.int64)).tobytes()
    blocks = [block[m:m + BLOCK] for m in range(0, len(block), BLOCK)]   # bytes slices: faster than memoryviews
    padding = [_PADDING[-size % BLOCK] for size in sizes]
    length = len(block) + sum(sizes) + sum(map(len, padding))
    return list(chain.from_iterable(zip(blocks, values, padding))), length


def tar_members(records: Records) -> bytes:
    """The tar members of ``records``, without the end-of-archive.

    Members are self-contained 512-byte-aligned blocks, so the members of consecutive slices,
    concatenated and closed by :func:`tar_end`, are byte for byte :func:`tar_archive` of the
    whole: this is how a shard streams while it renders.

    Raises:
        ValueError: as :func:`headers` (a key or field name makes a bad member name).
    """
    return b"".join(_member_parts(records)[0])


def tar_end(length: int) -> bytes:
    """End-of-archive after ``length`` bytes of members, as ``tarfile`` writes it: two zero
    blocks, then zeros up to a multiple of the 10240-byte record (POSIX ustar blocking)."""
    return bytes(2 * BLOCK + (-(length + 2 * BLOCK)) % RECORD)


def tar_archive(records: Records) -> bytes:
    """``records`` as a whole tar: :func:`tar_members`, then :func:`tar_end`. Raises
    ``ValueError`` as :func:`headers`."""
    parts, length = _member_parts(records)
    return b"".join([*parts, tar_end(length)])
