"""Atomic file output: write under a temporary name in the same folder, then rename.

A reader (or a resumed job) never sees a half-written shard, manifest or PNG: ``os.replace``
is atomic on POSIX file systems, and a crash leaves only a ``.<name>.tmp-<pid>-<random>`` file behind,
which :func:`remove_stale_temporaries` clears on the next run.
Every file the project writes (shards, manifests, checkpoints, model files, summaries,
reports, plots) goes through :func:`atomic_open`/:func:`atomic_write`: the temporary name is
unique per call, so concurrent writers of one path never collide (the last rename wins whole),
and the data is fsynced before the rename.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from pathlib import Path
from typing import BinaryIO, Iterator

TMP_MARK = ".tmp-"


class HashingWriter:
    """File-like wrapper that counts and sha256-hashes the bytes written through it."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.sha256 = hashlib.sha256()
        self.bytes = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.bytes += len(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


@contextlib.contextmanager
def atomic_open(path: str | Path) -> Iterator[HashingWriter]:
    """Open ``path`` for binary writing through a temporary file, renamed on success.

    Yields a :class:`HashingWriter` (its ``sha256``/``bytes`` describe the file); anything that
    writes to a binary file object (``torch.save``, ``Figure.savefig``) can write to it. On an
    exception the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")
    try:
        with open(tmp, "wb") as raw:
            writer = HashingWriter(raw)
            yield writer
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path) as f:
        f.write(data)


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def remove_stale_temporaries(folder: str | Path) -> int:
    """Delete ``.*.tmp-*`` files left by killed writers; returns how many were removed."""
    removed = 0
    for p in Path(folder).glob(f".*{TMP_MARK}*"):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
            removed += 1
    return removed


def save_figure(fig, path: str | Path) -> Path:
    """Save a matplotlib figure as PNG atomically (creating the folder) and close it; returns ``path``."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path) as f:
        fig.savefig(f, format="png")
    plt.close(fig)
    return path
