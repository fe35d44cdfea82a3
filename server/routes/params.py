"""Checks FastAPI cannot declare (shared parsers, registry lookups), failing as 422 in FastAPI's
own validation-error shape so that clients parse one format."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import HTTPException
from pydantic import BeforeValidator, Field

from ..errors import echo

T = TypeVar("T")


def field_error(where: str, name: str, message: str, value: Any = None) -> HTTPException:
    """422 with ``{"detail": [{"loc": [where, name], "msg", "type": "value_error", "input"}]}``.

    Args:
        where: ``query`` or ``body``.
        name: the parameter or spec field.
        message: says what is allowed.
        value: what the client sent.
    """
    return HTTPException(422, detail=[{"loc": [where, name], "msg": message, "type": "value_error",
                                        "input": echo(value)}])


_ASCII_INT = re.compile(r"[+-]?[0-9]+")


def _ascii_int(value: Any) -> Any:
    # pydantic's int() takes '1_000' and ' 12'; a query integer is ASCII digits with an
    # optional sign, as on the command line (the range is the Query's ge/le, said by the 422).
    if isinstance(value, str) and not _ASCII_INT.fullmatch(value):
        raise ValueError("not an integer in ASCII digits")
    return value


def ascii_int(low: int, high: int) -> Any:
    """The type of a query integer in ``low..high``: ``seed: Annotated[ascii_int(0, 9), Query()] = 0``
    (the bounds before the validator, so that ``/openapi.json`` shows them as minimum/maximum)."""
    return Annotated[int, Field(ge=low, le=high), BeforeValidator(_ascii_int)]


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
