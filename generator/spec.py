"""Dataset specs: the plain, serializable description of a synthetic dataset.

A spec fixes everything that decides the bytes of a dataset (docs/DESIGN.md "Determinism is the
spine"): seed, image size, shader mix, time range, images per shard and format. Sample ``i``
is a pure function of (spec, i); shard ``k`` holds samples ``k*n .. k*n+n-1``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

MIN_SIZE = 8      # pixels per side; the renderer's limits too
MAX_SIZE = 1024
FORMATS = ("png", "jpg", "webp", "npy")
COMPOSED = "composed"   # mix key: the pool of composed programs
USER = "user"           # mix key: the accepted shaders of ``user_dir``
MAX_IMAGES = 10**10
MAX_IMAGES_PER_SHARD = 1_000_000
MAX_COMPOSED_PROGRAMS = 1_000_000
_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")   # fullmatch: '$' would accept a trailing newline


class SpecError(ValueError):
    """An invalid spec field; the message names the field, the bad value and the allowed range.

    ``field`` is the offending spec field (``None`` when the spec as a whole is malformed).
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def default_mix() -> dict[str, float]:
    """Every hand-written family at weight 1, and the composed pool at the same total weight."""
    from unnatural.shaders import family_names

    names = family_names()
    mix = {name: 1.0 for name in names}
    mix[COMPOSED] = float(len(names))
    return mix


@dataclass(frozen=True)
class DatasetSpec:
    """A synthetic dataset, fully determined by these fields.

    Attributes:
        name: shard name prefix (``{name}-{k:06d}.tar``); letters, digits, ``_`` and ``-``.
        seed: integer in [0, 2**63).
        width, height: image size in pixels, each in [8, 1024].
        images: number of samples, >= 1.
        images_per_shard: samples per shard, >= 1.
        format: image encoding, one of ``png`` (lossless), ``jpg``, ``webp``, ``npy`` (raw uint8).
        quality: jpg/webp quality in [1, 100].
        mix: relative weights by program source: a family name, ``"composed"`` (shared equally
            by ``composed_programs`` composed programs) or ``"user"`` (shared equally by the
            accepted shaders of ``user_dir``). Zero weights are allowed; the total must be > 0.
        composed_programs: size of the composed-program pool (program seeds ``0..P-1`` mixed
            with ``seed``).
        user_dir: folder of Shadertoy-style ``*.glsl``/``*.frag`` files (``"user"`` mix key).
        time_min, time_max: ``iTime`` is uniform in [time_min, time_max] seconds.
    """

    name: str = "unnatural"
    seed: int = 0
    width: int = 32
    height: int = 32
    images: int = 10_000
    images_per_shard: int = 1000
    format: str = "png"
    quality: int = 90
    mix: dict[str, float] = field(default_factory=default_mix)
    composed_programs: int = 64
    user_dir: str | None = None
    time_min: float = 0.1
    time_max: float = 10.0

    def __post_init__(self) -> None:
        # Normalise numbers so equal specs have equal canonical JSON (1 and 1.0 hash alike).
        for key in ("time_min", "time_max"):
            value = getattr(self, key)
            if isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, key, float(value))
        if isinstance(self.mix, dict):
            object.__setattr__(self, "mix", {
                str(k): float(v) if isinstance(v, int) and not isinstance(v, bool) else v
                for k, v in self.mix.items()})
        self.validate()

    # -- validation -------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`SpecError` naming the first bad field and its allowed range."""
        from unnatural.shaders import family_names

        def need(ok: bool, fieldname: str, allowed: str) -> None:
            if not ok:
                raise SpecError(f"{fieldname} {getattr(self, fieldname)!r} is invalid: allowed {allowed}", fieldname)

        def is_int(v: object) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        need(isinstance(self.name, str) and bool(_NAME_RE.fullmatch(self.name)), "name",
             "1-64 characters from letters, digits, '_' and '-' (no dots: webdataset keys)")
        need(is_int(self.seed) and 0 <= self.seed < 2**63, "seed", "integers 0..2**63-1")
        need(is_int(self.width) and MIN_SIZE <= self.width <= MAX_SIZE, "width", f"{MIN_SIZE}..{MAX_SIZE} pixels")
        need(is_int(self.height) and MIN_SIZE <= self.height <= MAX_SIZE, "height", f"{MIN_SIZE}..{MAX_SIZE} pixels")
        need(is_int(self.images) and 1 <= self.images <= MAX_IMAGES, "images", f"1..{MAX_IMAGES}")
        need(is_int(self.images_per_shard) and 1 <= self.images_per_shard <= MAX_IMAGES_PER_SHARD,
             "images_per_shard", f"1..{MAX_IMAGES_PER_SHARD}")
        need(self.format in FORMATS, "format", " | ".join(FORMATS))
        need(is_int(self.quality) and 1 <= self.quality <= 100, "quality", "1..100")
        need(is_int(self.composed_programs) and 0 <= self.composed_programs <= MAX_COMPOSED_PROGRAMS,
             "composed_programs", f"0..{MAX_COMPOSED_PROGRAMS}")
        for bound in ("time_min", "time_max"):
            v = getattr(self, bound)
            need(isinstance(v, (int, float)) and math.isfinite(v) and 0 <= v <= 1e4, bound, "0..10000 seconds")
        need(self.time_min <= self.time_max, "time_min", f"<= time_max ({self.time_max})")
        need(isinstance(self.mix, dict) and len(self.mix) > 0, "mix", "a non-empty {source: weight} mapping")
        known = set(family_names()) | {COMPOSED, USER}
        for key, weight in self.mix.items():
            if key not in known:
                raise SpecError(f"mix source {key!r} is unknown: allowed {COMPOSED!r}, {USER!r} or a family "
                                f"({', '.join(family_names())})", "mix")
            if not (isinstance(weight, (int, float)) and math.isfinite(weight) and weight >= 0):
                raise SpecError(f"mix weight {weight!r} for {key!r} is invalid: allowed finite numbers >= 0", "mix")
        total = sum(self.mix.values())
        if not math.isfinite(total):   # 1e308 + 1e308: one source would take every sample
            raise SpecError("mix weights sum to infinity: allowed finite weights with a finite sum", "mix")
        if total <= 0:
            raise SpecError("mix weights sum to 0: allowed any weights with a positive sum", "mix")
        if self.mix.get(COMPOSED, 0) > 0 and self.composed_programs == 0:
            raise SpecError("mix gives 'composed' a weight but composed_programs is 0: allowed 1..", "composed_programs")
        if self.mix.get(USER, 0) > 0 and not self.user_dir:
            raise SpecError("mix gives 'user' a weight but user_dir is not set: allowed a folder of *.glsl/*.frag", "user_dir")

    # -- derived ----------------------------------------------------------------------------
    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return (self.width, self.height)

    @property
    def num_shards(self) -> int:
        return -(-self.images // self.images_per_shard)

    def shard_range(self, k: int) -> range:
        """Sample indices of shard ``k``. Raises ``IndexError`` outside ``0..num_shards-1``."""
        if not 0 <= k < self.num_shards:
            raise IndexError(f"shard {k} out of range: allowed 0..{self.num_shards - 1}")
        start = k * self.images_per_shard
        return range(start, min(start + self.images_per_shard, self.images))

    def shard_name(self, k: int) -> str:
        return f"{self.name}-{k:06d}.tar"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def canonical_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @property
    def spec_hash(self) -> str:
        """First 16 hex digits of sha256 of the canonical JSON: names the spec everywhere."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:16]

    def replace(self, **changes) -> "DatasetSpec":
        return dataclasses.replace(self, **changes)

    # -- files ------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict) -> "DatasetSpec":
        """Build from a mapping; unknown keys raise :class:`SpecError` naming them."""
        if not isinstance(data, dict):
            raise SpecError(f"a spec must be a mapping, got {type(data).__name__}")
        allowed = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise SpecError(f"unknown spec field(s) {', '.join(unknown)}: allowed {', '.join(sorted(allowed))}", unknown[0])
        return cls(**data)

    @classmethod
    def load(cls, path: str | Path) -> "DatasetSpec":
        """Read a JSON or YAML spec file (by extension; YAML for ``.yaml``/``.yml``)."""
        path = Path(path)
        text = path.read_text()
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
        return cls.from_dict(data)
