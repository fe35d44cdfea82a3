"""The cache of preview contact sheets: PNG bytes by request key, least recently used dropped
first, bounded by total bytes (a count alone lets large sheets fill the memory)."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

CACHE_BYTES = 32 << 20   # previews are deterministic; the gallery's 27 sheets take ~1 MB


class PreviewCache:
    """PNG bytes by key within ``max_bytes`` in total (a sheet larger than that is not kept).

    Attributes:
        size: bytes held now.
    """

    def __init__(self, max_bytes: int = CACHE_BYTES):
        self.max_bytes = max_bytes
        self.size = 0
        self._sheets: OrderedDict[Hashable, bytes] = OrderedDict()

    def get(self, key: Hashable) -> bytes | None:
        png = self._sheets.get(key)
        if png is not None:
            self._sheets.move_to_end(key)
        return png

    def put(self, key: Hashable, png: bytes) -> None:
        if key in self._sheets or len(png) > self.max_bytes:
            return
        self._sheets[key] = png
        self.size += len(png)
        while self.size > self.max_bytes:
            self.size -= len(self._sheets.popitem(last=False)[1])
