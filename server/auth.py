"""Authentication: a bearer token, or a session cookie that a browser got for it at
``POST /session`` (:mod:`unnatural.server.routes.browser`).

:func:`require_token` is the dependency every router but the probes' and the browser's carries
(see :func:`unnatural.server.app.create_app`); it is built on FastAPI's security classes so
that both schemes are in ``/openapi.json``. :class:`BodyGuard` runs before FastAPI reads a
body: it refuses unauthenticated bodies and bodies above the size limit unread.
:class:`HostGuard` refuses a ``Host`` outside ``--allowed-hosts`` with a JSON 400.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from http.cookies import CookieError, SimpleCookie
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from starlette.middleware.trustedhost import TrustedHostMiddleware

from .state import State

SESSION_COOKIE = "unnatural_session"
UNAUTHORIZED = "missing or invalid bearer token: send 'Authorization: Bearer <token>'"
PUBLIC_PATHS = ("/healthz", "/readyz", "/session")   # answer without a token (/session takes one)

# auto_error=False: a missing or non-bearer header yields None here, so require_token answers
# with the server's own 401 body and counts it, instead of HTTPBearer's bare 401/403.
bearer = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="the server's token (`unnatural serve --token-file`, or `$UNNATURAL_TOKEN`); "
                                "required only when the server has one")
session = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, scheme_name="session",
                       description="HttpOnly SameSite=Strict cookie set by POST /session for the token (browsers)")


def session_value(token: str) -> str:
    """The session cookie for ``token``: an HMAC of a fixed label, so the cookie is not the
    token, needs no server-side store (replicas with one token accept each other's cookies)
    and dies when the token changes."""
    return hmac.new(token.encode(), b"unnatural session v1", hashlib.sha256).hexdigest()


def authorized(token: str | None, bearer_token: str | None, cookie: str | None) -> bool:
    """Whether a request with this bearer token and session cookie may pass (always, when the
    server has no ``token``). Comparisons take constant time: the time taken must not tell an
    attacker how much of a guess was right."""
    if token is None:
        return True
    return (bearer_token is not None and secrets.compare_digest(bearer_token.encode(), token.encode())) or \
        (cookie is not None and secrets.compare_digest(cookie.encode(), session_value(token).encode()))


async def require_token(state: State,
                        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
                        cookie: Annotated[str | None, Depends(session)]) -> None:
    """Let the request through if :func:`authorized`.

    Raises:
        HTTPException: 401 with ``WWW-Authenticate: Bearer`` (counted as error kind
            ``unauthorized``) for a missing, non-bearer or wrong token and no valid cookie.
    """
    if not authorized(state.settings.token, credentials.credentials if credentials else None, cookie):
        state.metrics.errors.labels("unauthorized").inc()
        raise HTTPException(401, detail=UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})


class BodyGuard:
    """ASGI middleware in front of the app for requests that carry a body: 401 before the
    body is read when the request is not :func:`authorized` (FastAPI parses a body before it
    runs dependencies), and 413 for a body above ``max_body_bytes`` (by ``Content-Length``, or
    while it streams in when chunked). Requests without a body pass untouched.

    Args:
        app: the ASGI app; ``state``: the server state (token, limit, metrics).
    """

    def __init__(self, app, state) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        limit = self.state.settings.max_body_bytes
        if scope["path"] not in PUBLIC_PATHS and not authorized(self.state.settings.token, _bearer(headers),
                                                                 _cookie(headers)):
            self.state.metrics.errors.labels("unauthorized").inc()
            return await _answer(send, 401, UNAUTHORIZED, {"WWW-Authenticate": "Bearer"})
        declared = headers.get("content-length", "")
        if declared.isdigit() and declared.isascii() and int(declared) > limit:
            return await _answer(send, 413, _too_large(limit))
        received = 0

        async def counting_receive():
            # Raised inside FastAPI's body read, which passes HTTPException on to the handlers.
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise HTTPException(413, detail=_too_large(limit))
            return message

        await self.app(scope, counting_receive, send)


def _too_large(limit: int) -> str:
    return f"the request body is larger than this server's limit: allowed up to {limit} bytes"


def _bearer(headers: dict[str, str]) -> str | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _cookie(headers: dict[str, str]) -> str | None:
    try:
        morsel = SimpleCookie(headers.get("cookie", "")).get(SESSION_COOKIE)
    except CookieError:
        return None
    return morsel.value if morsel else None


BAD_HOST = "the request's Host header is not one this server answers to (unnatural serve --allowed-hosts)"
_PASSED = "unnatural.host_passed"   # scope key: set when the request reached the app behind the guard


class HostGuard(TrustedHostMiddleware):
    """Starlette's ``TrustedHostMiddleware`` (its host matching and www-redirect), answering a
    refused ``Host`` with the server's JSON error body (``{"detail": BAD_HOST}``, status 400)
    instead of plain text. The refused host is not echoed (no reflected content).

    Args:
        app: the ASGI app; ``allowed_hosts``: host names, ``*.example.com`` patterns or ``*``.
    """

    def __init__(self, app, allowed_hosts: list[str]) -> None:
        async def passed(scope, receive, send) -> None:
            scope[_PASSED] = True
            await app(scope, receive, send)

        super().__init__(passed, allowed_hosts=allowed_hosts)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or self.allow_any:
            return await super().__call__(scope, receive, send)
        scope = dict(scope)   # ours: the app behind marks it when the Host passed
        refused = False

        async def json_refusal(message) -> None:
            # Unless the request reached the app, the middleware answers by itself: a 400 to
            # refuse (rewritten here, its plain-text body dropped) or a www redirect (kept).
            nonlocal refused
            if scope.get(_PASSED):
                await send(message)
            elif message["type"] == "http.response.start" and message["status"] == 400:
                refused = True
                await _answer(send, 400, BAD_HOST)
            elif not refused:
                await send(message)

        await super().__call__(scope, receive, json_refusal)


async def _answer(send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
