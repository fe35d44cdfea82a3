"""Shard URLs for an ``unnatural serve`` server, with or without a bearer token.

Without a token, stock webdataset reads the server's brace URLs as they are (it fetches
``http(s)://`` through ``curl``). With a token, :func:`server_urls` turns each URL into a
``pipe:`` URL whose shell feeds the ``Authorization`` header to ``curl -H @-`` from an
environment variable, so the token appears in no URL, no log line and no process's arguments
(docs/METHODS.md §6: webdataset's curl reader sends no custom headers). A failed shard can simply be
fetched again: the server's shards are deterministic. (``WDS_SECURE=1`` makes webdataset refuse
``pipe:`` URLs; use a token-free server behind your own network policy then.)
"""
from __future__ import annotations

import os
import shlex

from braceexpand import braceexpand

from unnatural.server.env import TOKEN_ENV

# webdataset's own curl flags, with -S (errors on stderr) and Retry-After honoured on 429/503.
CURL = "curl --connect-timeout 30 --retry 10 --retry-max-time 600 -f -s -S -L"


def server_urls(urls: str | list[str], token: str | None = None, token_env: str = TOKEN_ENV) -> list[str]:
    """Expand brace patterns and make each URL readable by ``webdataset.WebDataset``.

    Args:
        urls: a brace URL from ``GET /datasets/{name}`` (``url_template``), a list of URLs, or
            both (each element is brace-expanded).
        token: the server's bearer token. It is put into ``os.environ[token_env]`` of this
            process, which DataLoader workers and the ``curl`` shells inherit. ``None``: use
            ``$token_env`` if it is set, else send no token.
        token_env: the environment variable that carries the token.

    Returns:
        One URL per shard: the plain ``http(s)://`` URL without a token, else
        ``pipe:printf 'Authorization: Bearer %s\\n' "$UNNATURAL_TOKEN" | curl ... -H @- 'URL'``.

    Raises:
        ValueError: an empty URL list, a URL that is not http(s), or an invalid ``token_env``.
    """
    patterns = [urls] if isinstance(urls, str) else list(urls)
    expanded = [u for pattern in patterns for u in braceexpand(pattern)]
    if not expanded:
        raise ValueError("no URLs given: allowed a brace URL like http://host/datasets/d/d-{000000..000009}.tar")
    for url in expanded:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"URL {url!r} is not http(s): allowed the server's http:// or https:// shard URLs")
    if not token_env.isidentifier():
        raise ValueError(f"token_env {token_env!r} is not an environment variable name")
    if token is not None:
        os.environ[token_env] = token
    if not os.environ.get(token_env):
        return expanded
    header = f"printf 'Authorization: Bearer %s\\n' \"${token_env}\""  # printf is a shell builtin: no argv
    return [f"pipe:{header} | {CURL} -H @- {shlex.quote(url)}" for url in expanded]
