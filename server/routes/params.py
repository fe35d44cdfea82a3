"""Checks FastAPI cannot declare (shared parsers, registry lookups), failing as 422 in FastAPI's
own validation-error shape so that clients parse one format."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import HTTPException

T = TypeVar("T")


def field_error(where: str, name: str, message: str, value: Any = None) -> HTTPException:
    """422 with ``{"detail": [{"loc": [where, name], "msg", "type": "value_error", "input"}]}``.

    Args:
        where: ``query`` or ``body``.
        name: the parameter or spec field.
        message: says what is allowed.
        value: what the client sent.
    """
    return HTTPException(422, detail=[{"loc": [where, name], "msg": message, "type": "value_error", "input": value}])


def parse_query(parse: Callable[..., T], name: str, text: str, *args: Any) -> T:
    """``parse(text, *args)``, a shared parser of :mod:`unnatural.generator.args` (the command
    line uses the same ones), applied to query parameter ``name``.

    Raises:
        HTTPException: 422 naming ``name`` with the parser's message.
    """
    try:
        return parse(text, *args)
    except ValueError as exc:
        raise field_error("query", name, str(exc), text) from None
