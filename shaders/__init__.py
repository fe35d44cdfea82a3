"""The shader library: hand-written GLSL families, composer building blocks, the catalogue.

``catalogue.json`` fixes the family order (a family's index is its class label); each family
file ``families/<name>.glsl`` starts with ``// family:``, ``// summary:`` and ``// params:``
header lines, read here for the catalogue listing.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class FamilyInfo:
    """One hand-written family: name, one-line summary, what its ``iParams`` control."""

    name: str
    summary: str
    params: str


def _read(relpath: str) -> str:
    return resources.files(__name__).joinpath(relpath).read_text()


@lru_cache(maxsize=1)
def family_names() -> tuple[str, ...]:
    """Family names in class order (``catalogue.json``)."""
    return tuple(json.loads(_read("catalogue.json"))["families"])


@lru_cache(maxsize=None)
def family_source(name: str) -> str:
    """GLSL body of a family. Raises ``KeyError`` naming the allowed families."""
    if name not in family_names():
        raise KeyError(f"unknown family {name!r}: allowed {', '.join(family_names())}")
    return _read(f"families/{name}.glsl")


def family_info(name: str) -> FamilyInfo:
    """Header fields of a family file (``// key: value`` lines at the top)."""
    header = {}
    for line in family_source(name).splitlines():
        if not line.startswith("//"):
            break
        key, _, value = line[2:].partition(":")
        header[key.strip()] = value.strip()
    return FamilyInfo(name, header.get("summary", ""), header.get("params", ""))

