"""The argument types every front end shares: the command line of each package and the HTTP
query parameters of the server parse integers, image sizes and family lists here, so one input
means the same thing everywhere and fails with the same message.

A leaf module: it imports nothing of the project but :mod:`unnatural.shaders` and the spec's
constants (no moderngl), so any layer may use it. Parsers raise ``ValueError`` whose message
names the value and the allowed range; :func:`arg_type` turns one into an argparse type.
"""
from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable, Iterable
from typing import TypeVar

from .spec import MAX_SIZE, MIN_SIZE

T = TypeVar("T")
_INT_RE = re.compile(r"[+-]?[0-9]+")   # ASCII digits only: int() also takes '٣٢' and '1_000'


class UsageError(Exception):
    """Bad command-line input: the root command prints it as one line and exits with code 2."""


class ArgParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors raise :class:`UsageError` (one line, exit code 2)
    instead of printing argparse's usage dump."""

    def error(self, message: str) -> None:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def parse_int(name: str, text: str | int, low: int, high: int) -> int:
    """The integer in ``text`` (ASCII digits, optional sign) within ``low..high`` inclusive.

    Raises:
        ValueError: not an integer, or out of range; the message names ``name`` and the range.
    """
    if isinstance(text, bool) or not (isinstance(text, int) or _INT_RE.fullmatch(str(text).strip())):
        raise ValueError(f"{name} {text!r} is not an integer: allowed {low}..{high}")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{name} {value} out of range: allowed {low}..{high}")
    return value


def _parse_float(name: str, text: str, ok: Callable[[float], bool], allowed: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan                   # fails every range check below
    if not ok(value):
        raise ValueError(f"{name} {text!r} is invalid: allowed {allowed}")
    return value


def parse_positive_float(name: str, text: str) -> float:
    """A finite number > 0. Raises ``ValueError`` naming ``name``."""
    return _parse_float(name, text, lambda v: 0 < v < math.inf, "numbers > 0")


def parse_weight(name: str, text: str) -> float:
    """A finite number >= 0 (a mix weight). Raises ``ValueError`` naming ``name``."""
    return _parse_float(name, text, lambda v: 0 <= v < math.inf, "numbers >= 0")


def parse_size(text: str, max_size: int = MAX_SIZE) -> tuple[int, int]:
    """``S`` or ``WxH`` in pixels, each side within ``MIN_SIZE..max_size``; returns ``(w, h)``.

    Raises:
        ValueError: not ``S``/``WxH``, or a side out of range.
    """
    parts = str(text).lower().split("x")
    if not 1 <= len(parts) <= 2 or not all(_INT_RE.fullmatch(p.strip()) for p in parts):
        raise ValueError(f"size {text!r} is not S or WxH: allowed {MIN_SIZE}..{max_size} pixels")
    w, h = int(parts[0]), int(parts[-1])
    if not (MIN_SIZE <= w <= max_size and MIN_SIZE <= h <= max_size):
        raise ValueError(f"size {text!r} out of range: allowed {MIN_SIZE}..{max_size} pixels per side")
    return w, h


def parse_families(text: str, extra: Iterable[str] = ()) -> list[str]:
    """A family list: ``all``, ``none`` or a comma list of family names (and of ``extra``
    sources such as ``composed``); returns the names in the order given.

    Raises:
        ValueError: an unknown name; the message lists the allowed ones.
    """
    from unnatural.shaders import family_names

    if text == "all":
        return list(family_names())
    if text == "none":
        return []
    allowed = (*family_names(), *extra)
    names = [t.strip() for t in text.split(",") if t.strip()]
    bad = [n for n in names if n not in allowed]
    if bad or not names:
        what = f"family {bad[0]!r} is unknown" if bad else f"families {text!r} names nothing"
        raise ValueError(f"{what}: allowed all, none or a comma list of {', '.join(allowed)}")
    return names


def arg_type(parse: Callable[..., T], *args) -> Callable[[str], T]:
    """An argparse ``type=`` from a parser above: ``parse(*args, text)``, its ``ValueError``
    reported by argparse (and so by :class:`ArgParser` as a :class:`UsageError`)."""
    def convert(text: str) -> T:
        try:
            return parse(*args, text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    convert.__name__ = getattr(parse, "__name__", "value")
    return convert


def int_arg(name: str, low: int, high: int) -> Callable[[str], int]:
    """argparse type: an integer ``low..high`` (see :func:`parse_int`)."""
    return arg_type(lambda text: parse_int(name, text, low, high))


def positive_float_arg(name: str) -> Callable[[str], float]:
    """argparse type: a finite number > 0."""
    return arg_type(parse_positive_float, name)
