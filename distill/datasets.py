"""The real-dataset grammar, one home for every command, study and loader:
``digits | cifar10:PATH | cifar100:PATH | folder:PATH``.

Torch-free, so the command line validates a dataset argument before it imports torch.
"""
from __future__ import annotations

from dataclasses import dataclass

# kind -> whether PATH is required (True) or forbidden (False)
KINDS = {"digits": False, "cifar10": True, "cifar100": True, "folder": True}
DATASETS = "digits | cifar10:PATH | cifar100:PATH | folder:PATH"


@dataclass(frozen=True)
class DatasetRef:
    """A parsed dataset argument: ``kind`` (a key of :data:`KINDS`) and ``path`` (``""`` if none)."""

    kind: str
    path: str


def parse_dataset(text: str) -> DatasetRef:
    """Parse ``KIND`` or ``KIND:PATH``.

    Raises:
        ValueError: an unknown kind, or a path missing where one is needed (or given where none
            is allowed); the message lists the allowed forms.
    """
    kind, sep, path = str(text).partition(":")
    if kind not in KINDS or KINDS[kind] != bool(path) or (sep and not path):
        raise ValueError(f"dataset {text!r} is unknown: allowed {DATASETS}")
    return DatasetRef(kind, path)


def is_real_dataset(text: str) -> bool:
    """Whether ``text`` names a real dataset (rather than shards, URLs or ``noise``)."""
    try:
        parse_dataset(text)
    except ValueError:
        return False
    return True
