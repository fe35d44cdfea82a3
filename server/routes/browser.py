"""The browser's way in: ``GET /`` (the gallery, or a sign-in form when the server has a token
and the browser no session) and ``POST /session``, which exchanges the token for an HttpOnly,
``SameSite=Strict`` session cookie (:func:`unnatural.server.auth.session_value`) that every
endpoint accepts beside the bearer header. The token travels in the form body only, never in a
URL (so it stays out of access logs and browser history)."""
from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ..auth import SESSION_COOKIE, authorized, bearer, session, session_value
from ..gallery import gallery_html, sign_in_html
from ..schemas import HTML, responses
from ..state import State
from .catalogue import catalogue

router = APIRouter(tags=["browser"])

_FORM = "application/x-www-form-urlencoded"
_SIGN_IN = {401: {"description": "the sign-in form (no valid session or token)", "content": {HTML: {}}}}


@router.get("/", response_class=HTMLResponse, responses={**responses(ok=HTML), **_SIGN_IN})
async def index(request: Request, state: State, credentials=Depends(bearer),
                cookie: Annotated[str | None, Depends(session)] = None) -> HTMLResponse:
    """The gallery page: families with previews, datasets with brace URLs; the sign-in form
    (401) when the server has a token and the request neither a session nor the token."""
    token = state.settings.token
    if not authorized(token, credentials.credentials if credentials else None, cookie):
        return HTMLResponse(sign_in_html(), status_code=401, headers={"WWW-Authenticate": "Bearer"})
    cat = catalogue()
    return HTMLResponse(gallery_html(cat["families"], cat["composed"],
                                     [d.describe(state.base_url(request)) for d in state.registry], token is not None))


@router.post("/session", status_code=303, response_class=RedirectResponse,
             responses={303: {"description": "signed in: the cookie is set, go to the gallery"}, **_SIGN_IN,
                        **responses(413)},
             openapi_extra={"requestBody": {"required": True, "content": {_FORM: {"schema": {
                 "type": "object", "properties": {"token": {"type": "string"}}, "required": ["token"]}}}}})
async def sign_in(request: Request, state: State) -> HTMLResponse:
    """Exchange the token (form field ``token``) for a session cookie and go to the gallery;
    a wrong or missing token gets the form again (401)."""
    token = state.settings.token
    given = parse_qs((await request.body()).decode("utf-8", "replace")).get("token", [None])[0]
    if token is not None and not authorized(token, given, None):
        state.metrics.errors.labels("unauthorized").inc()
        return HTMLResponse(sign_in_html("That token is not this server's: try again."), status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})
    response = RedirectResponse("./", status_code=303)
    if token is not None:
        response.set_cookie(SESSION_COOKIE, session_value(token), httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")
    return response
