"""Bearer-token auth: a dependency that every router but the probes' carries (see
:func:`unnatural.server.app.create_app`). Built on ``fastapi.security.HTTPBearer`` so that the
scheme is in ``/openapi.json`` and ``/docs`` has an "Authorize" button."""
from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .state import State

# auto_error=False: a missing or non-bearer header yields None here, so require_token answers
# with the server's own 401 body and counts it, instead of HTTPBearer's bare 401/403.
bearer = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="the server's token (`unnatural serve --token-file`, or `$UNNATURAL_TOKEN`); "
                                "required only when the server has one")


async def require_token(state: State,
                        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
    """Let the request through if the server has no token or the request's bearer token equals it.

    Raises:
        HTTPException: 401 with ``WWW-Authenticate: Bearer`` (counted as error kind
            ``unauthorized``) for a missing, non-bearer or wrong token.
    """
    token = state.settings.token
    if token is None:
        return
    # compare_digest: the time taken must not tell an attacker how much of a guess was right.
    if credentials is None or not secrets.compare_digest(credentials.credentials.encode(), token.encode()):
        state.metrics.errors.labels("unauthorized").inc()
        raise HTTPException(401, detail="missing or invalid bearer token: send 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})
