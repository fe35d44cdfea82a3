"""Registered datasets: specs from the config file and from ``POST /datasets``, by name.

The registry lives in the server's memory: a spec is all a shard depends on, so replicas that
load the same config serve the same bytes; specs registered through the API exist only on the
replica that took the request (register them on each, or put them in the config file).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from unnatural.generator.spec import DatasetSpec, SpecError

from .settings import ServerSettings, SettingsError


@dataclass
class Dataset:
    """One registered spec and what a render process computed from it.

    ``classes`` and ``programs_digest`` are filled by a ``prepare`` job (``None`` until then);
    ``error`` says why preparing failed (the dataset then serves 503).
    """

    spec: DatasetSpec
    source: str                         # "config" | "api"
    classes: list[str] | None = None
    programs_digest: str | None = None
    error: str | None = None
    prepared: bool = False

    @property
    def status(self) -> str:
        """``ready``, ``preparing`` or ``error``."""
        return "error" if self.error else "ready" if self.prepared else "preparing"

    def shard_index(self, filename: str) -> int | None:
        """The shard index ``k`` of ``{name}-{k:06d}.tar``, or ``None`` for any other name."""
        prefix, suffix = f"{self.spec.name}-", ".tar"
        if not (filename.startswith(prefix) and filename.endswith(suffix)):
            return None
        digits = filename[len(prefix):-len(suffix)]
        if not digits.isdigit() or not digits.isascii():
            return None
        k = int(digits)
        return k if self.spec.shard_name(k) == filename else None

    def url_template(self, base_url: str) -> str:
        """Brace URL of every shard, e.g. ``http://host/datasets/train/train-{000000..000009}.tar``."""
        name, last = self.spec.name, self.spec.shard_name(self.spec.num_shards - 1)[len(self.spec.name) + 1:-4]
        return f"{base_url.rstrip('/')}/datasets/{name}/{name}-{{{0:0{len(last)}d}..{last}}}.tar"

    def describe(self, base_url: str) -> dict:
        """The JSON of ``GET /datasets/{name}``."""
        return {
            "name": self.spec.name,
            "url_template": self.url_template(base_url),
            "samples": self.spec.images,
            "num_shards": self.spec.num_shards,
            "images_per_shard": self.spec.images_per_shard,
            "spec_hash": self.spec.spec_hash,
            "spec": self.spec.to_dict(),
            "source": self.source,
            "classes": self.classes,
            "programs_digest": self.programs_digest,
            "status": self.status,
            "error": self.error,
        }


class Conflict(ValueError):
    """A dataset of that name is registered with a different spec."""


class DatasetRegistry:
    """Datasets by name; registering an identical spec again is a no-op (idempotent)."""

    def __init__(self) -> None:
        self._datasets: dict[str, Dataset] = {}

    def __iter__(self):
        return iter(self._datasets.values())

    def __len__(self) -> int:
        return len(self._datasets)

    def get(self, name: str) -> Dataset | None:
        return self._datasets.get(name)

    def names(self) -> list[str]:
        return sorted(self._datasets)

    def add(self, spec: DatasetSpec, source: str) -> tuple[Dataset, bool]:
        """Register ``spec``; returns ``(dataset, created)``.

        Raises:
            Conflict: the name is taken by a different spec.
        """
        existing = self._datasets.get(spec.name)
        if existing is not None:
            if existing.spec.spec_hash != spec.spec_hash:
                raise Conflict(f"dataset {spec.name!r} is already registered with a different spec "
                               f"(spec_hash {existing.spec.spec_hash}); choose another name")
            return existing, False
        self._datasets[spec.name] = dataset = Dataset(spec, source)
        return dataset, True

    def remove(self, name: str) -> None:
        """Forget a dataset (one that could not be prepared); no-op for an unknown name."""
        self._datasets.pop(name, None)


def load_config(path: Path, settings: ServerSettings) -> list[DatasetSpec]:
    """Specs of a YAML/JSON config file: ``{"datasets": [spec, ...]}`` or a bare list of specs.

    Raises:
        SettingsError: unreadable file, wrong shape, a bad spec (the message names the dataset
            and the field), a spec over the server limits, or a name used twice.
    """
    try:
        text = path.read_text()
    except OSError as exc:
        raise SettingsError(f"config {str(path)!r} cannot be read ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text) if path.suffix.lower() in (".yaml", ".yml") else json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise SettingsError(f"config {str(path)!r} does not parse: {exc}") from None
    items = data.get("datasets") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise SettingsError(f"config {str(path)!r}: expected 'datasets: [spec, ...]' or a list of specs")
    specs: list[DatasetSpec] = []
    for i, item in enumerate(items):
        try:
            spec = DatasetSpec.from_dict(item)
            settings.check_spec(spec, from_config=True)
        except (SpecError, TypeError) as exc:
            name = item.get("name", "?") if isinstance(item, dict) else "?"
            raise SettingsError(f"config {str(path)!r}, dataset {i} ({name}): {exc}") from None
        if any(s.name == spec.name for s in specs):
            raise SettingsError(f"config {str(path)!r}: dataset name {spec.name!r} is used twice")
        specs.append(spec)
    return specs
