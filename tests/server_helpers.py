"""Helpers shared by the server tests that read streamed tar bodies."""
from __future__ import annotations

import httpx


class BodyFile:
    """A streamed response body as a read-only file, for ``tarfile``'s stream mode (``r|``):
    only the bytes asked for are read, so an endless body can be sampled."""

    def __init__(self, response: httpx.Response):
        self._chunks, self._buffer = response.iter_bytes(), b""

    def read(self, n: int) -> bytes:
        while len(self._buffer) < n and (chunk := next(self._chunks, b"")):
            self._buffer += chunk
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out


def head(client: httpx.Client, path: str, params: dict) -> httpx.Response:
    """GET that reads the body only when it is not a 200 (a 200 stream may be endless)."""
    with client.stream("GET", path, params=params) as response:
        if response.status_code != 200:
            response.read()
        return response
