"""The real-dataset grammar, one home for every command, study and loader:
``digits | cifar10:PATH | cifar100:PATH | folder:PATH | fashion-mnist[:PATH] | mnist:PATH``.

Torch-free, so the command line validates a dataset argument before it imports torch.
"""
from __future__ import annotations

from dataclasses import dataclass

REQUIRED, OPTIONAL, FORBIDDEN = "required", "optional", "forbidden"
# kind -> whether its PATH is required, optional (DEFAULT_PATHS gives the default) or forbidden
KINDS = {"digits": FORBIDDEN, "cifar10": REQUIRED, "cifar100": REQUIRED, "folder": REQUIRED,
         "fashion-mnist": OPTIONAL, "mnist": REQUIRED}
# where an optional PATH points when omitted: Debian's package dataset-fashion-mnist
DEFAULT_PATHS = {"fashion-mnist": "/usr/share/datasets/fashion-mnist"}
DATASETS = " | ".join(kind + {REQUIRED: ":PATH", OPTIONAL: "[:PATH]", FORBIDDEN: ""}[rule]
                      for kind, rule in KINDS.items())


@dataclass(frozen=True)
class DatasetRef:
    """A parsed dataset argument: ``kind`` (a key of :data:`KINDS`) and ``path`` as given (``""`` if
    none; an optional path's default is :data:`DEFAULT_PATHS`, see :attr:`location`)."""

    kind: str
    path: str

    @property
    def location(self) -> str:
        """The path to read: as given, else the kind's default (``""`` for ``digits``)."""
        return self.path or DEFAULT_PATHS.get(self.kind, "")


def parse_dataset(text: str) -> DatasetRef:
    """Parse ``KIND`` or ``KIND:PATH``.

    Raises:
        ValueError: an unknown kind, or a path missing where one is required (or given where none
            is allowed); the message lists the allowed forms.
    """
    kind, sep, path = str(text).partition(":")
    rule = KINDS.get(kind)
    if rule is None or (sep and not path) or (rule == REQUIRED and not path) or (rule == FORBIDDEN and path):
        raise ValueError(f"dataset {text!r} is unknown: allowed {DATASETS}")
    return DatasetRef(kind, path)


def is_real_dataset(text: str) -> bool:
    """Whether ``text`` names a real dataset (rather than shards, URLs or ``noise``)."""
    try:
        parse_dataset(text)
    except ValueError:
        return False
    return True
