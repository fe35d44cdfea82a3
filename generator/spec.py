"""Dataset specs: the plain, serializable description of a synthetic dataset.

A spec fixes everything that decides the bytes of a dataset (docs/DESIGN.md "Determinism is the
spine"): seed, image size, shader mix, time range, images per shard and format. Sample ``i``
is a pure function of (spec, i); shard ``k`` holds samples ``k*n .. k*n+n-1``.

A spec may carry a ``fitted`` section (written by ``unnatural fit``, docs/METHODS.md §10): per
class of a teacher, a weight and the programs chosen for it, each with a truncated Gaussian per
sampling coordinate. It then replaces the mix as the source of samples; a spec without it has
exactly the canonical JSON (and so the hash and bytes) it had before the section existed.
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

# The ``fitted`` section (see :func:`check_fitted`).
FITTED_COORDS = 17              # coordinate 0: iTime normalised to [time_min, time_max]; 1..16: iParams
FITTED_STD_MIN, FITTED_STD_MAX = 1e-3, 10.0
MAX_FITTED_CLASSES = 100_000
MAX_FITTED_PROGRAMS = 10_000    # per class
MAX_FITTED_TEXT = 200           # characters of a class name or the teacher note
COMPOSED_ID_RE = re.compile(r"composed-([0-9]{8,10})")
MAX_COMPOSER_SEED = 2**31 - 1   # generator.composer.MAX_SEED (the composer imports GLSL files)
USER_ID_PREFIX = "user/"        # user programs are "user/<file name>" (generator.user_shaders)
_FITTED_KEYS = {"teacher", "classes"}
_CLASS_KEYS = {"name", "weight", "programs"}
_PROGRAM_KEYS = {"program", "weight", "mean", "std"}


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
        fitted: ``None``, or a teacher-fitted section that replaces ``mix`` as the source of
            samples (``mix`` is still validated, and kept as a record of the base spec)::

                {"teacher": str (informational, optional),
                 "classes": [{"name": str, "weight": float >= 0,
                              "programs": [{"program": <family> | "composed-XXXXXXXX" | "user/<file>",
                                            "weight": float >= 0,
                                            "mean": [17 floats in [0, 1]],
                                            "std": [17 floats in [0.001, 10]]}, ...]}, ...]}

            One class entry per teacher class, in the teacher's order. Coordinate 0 is
            ``iTime`` mapped to [time_min, time_max], 1..16 the ``iParams``; each is a Gaussian
            ``(mean, std)`` truncated to [0, 1). Sample ``i`` draws its class from the class
            weights, then a program of that class from the program weights, then its
            coordinates (:meth:`~unnatural.generator.sampling.ProgramTable.draw`). Composed
            programs are named by their composer seed, so they do not depend on ``seed`` or
            ``composed_programs``; user programs need ``user_dir``. See :func:`check_fitted`.
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
    fitted: dict | None = None

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
        if self.fitted is not None:
            object.__setattr__(self, "fitted", _normalised_fitted(self.fitted))
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
        if self.fitted is not None:
            check_fitted(self.fitted, self.user_dir)

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
        """The fields as plain JSON types; ``fitted`` only when set, so a spec without it keeps
        the canonical JSON and hash it had before the section existed."""
        data = dataclasses.asdict(self)
        if data["fitted"] is None:
            del data["fitted"]
        return data

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


# -- the fitted section ---------------------------------------------------------------------
def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _as_float(v: object) -> object:
    return float(v) if isinstance(v, int) and not isinstance(v, bool) else v


def _normalised_fitted(fitted: object) -> object:
    """A deep copy of a ``fitted`` section with integer weights, means and stds as floats (so
    ``1`` and ``1.0`` hash alike); anything malformed is copied as it is for
    :func:`check_fitted` to reject."""
    import copy

    out = copy.deepcopy(fitted)
    if not isinstance(out, dict) or not isinstance(out.get("classes"), list):
        return out
    for entry in out["classes"]:
        if not isinstance(entry, dict):
            continue
        if "weight" in entry:
            entry["weight"] = _as_float(entry["weight"])
        for program in entry.get("programs") if isinstance(entry.get("programs"), list) else []:
            if not isinstance(program, dict):
                continue
            if "weight" in program:
                program["weight"] = _as_float(program["weight"])
            for key in ("mean", "std"):
                if isinstance(program.get(key), list):
                    program[key] = [_as_float(v) for v in program[key]]
    return out


def _check_weights(weights: list, path: str) -> None:
    total = math.fsum(weights)
    if not math.isfinite(total):
        raise SpecError(f"{path} weights sum to infinity: allowed finite weights with a finite sum", "fitted")
    if total <= 0:
        raise SpecError(f"{path} weights sum to 0: allowed weights >= 0 with a positive sum", "fitted")


def check_program_ref(ref: object, user_dir: str | None) -> str | None:
    """Why ``ref`` cannot name a fitted program (``None`` when it can): a family name,
    ``composed-XXXXXXXX`` (the composer seed, at least 8 digits, 0..2**31-1) or
    ``user/<file name>`` (an accepted shader of ``user_dir``, which must be set)."""
    from unnatural.shaders import family_names

    if not isinstance(ref, str):
        return "a family name, 'composed-<seed, 8 digits>' or 'user/<file name>'"
    if ref in family_names():
        return None
    match = COMPOSED_ID_RE.fullmatch(ref)
    if match:
        seed = int(match.group(1))
        if seed <= MAX_COMPOSER_SEED and ref == f"composed-{seed:08d}":
            return None
        return f"'composed-<seed>' with a seed 0..{MAX_COMPOSER_SEED} written with 8 digits at least"
    if ref.startswith(USER_ID_PREFIX) and len(ref) > len(USER_ID_PREFIX) and "/" not in ref[len(USER_ID_PREFIX):]:
        return None if user_dir else "'user/<file name>' only with user_dir set"
    return f"a family ({', '.join(family_names())}), 'composed-<seed, 8 digits>' or 'user/<file name>'"


def check_fitted(fitted: object, user_dir: str | None = None) -> None:
    """Validate a ``fitted`` section (the shape is in :class:`DatasetSpec`).

    Raises:
        SpecError: field ``"fitted"``; the message names the path of the first bad entry (e.g.
            ``fitted.classes[3].programs[0].std[5]``), its value and the allowed range. Unknown
            keys, missing keys, a program named twice in one class and weights that sum to 0
            are errors too.
    """
    def fail(path: str, value: object, allowed: str) -> None:
        shown = repr(value) if not isinstance(value, (dict, list)) or len(repr(value)) <= 80 else type(value).__name__
        raise SpecError(f"{path} {shown} is invalid: allowed {allowed}", "fitted")

    def keys(mapping: object, path: str, allowed: set[str], required: set[str], what: str) -> None:
        if not isinstance(mapping, dict):
            fail(path, mapping, what)
        unknown = sorted(set(map(str, mapping)) - allowed)
        if unknown:
            raise SpecError(f"{path} has unknown key(s) {', '.join(unknown)}: allowed {', '.join(sorted(allowed))}",
                            "fitted")
        missing = sorted(required - set(mapping))
        if missing:
            raise SpecError(f"{path} lacks {', '.join(missing)}: required {', '.join(sorted(required))}", "fitted")

    def text(value: object, path: str) -> None:
        if not isinstance(value, str) or not 1 <= len(value) <= MAX_FITTED_TEXT:
            fail(path, value, f"a string of 1..{MAX_FITTED_TEXT} characters")

    def weight(value: object, path: str) -> None:
        if not (_is_number(value) and value >= 0):
            fail(path, value, "finite numbers >= 0")

    def vector(values: object, path: str, low: float, high: float) -> None:
        if not isinstance(values, list) or len(values) != FITTED_COORDS:
            count = f"{len(values)} values" if isinstance(values, list) else type(values).__name__
            raise SpecError(f"{path} has {count}: allowed a list of {FITTED_COORDS} numbers in {low:g}..{high:g} "
                            "(iTime, then the 16 iParams)", "fitted")
        for j, v in enumerate(values):
            if not (_is_number(v) and low <= v <= high):
                fail(f"{path}[{j}]", v, f"finite numbers in {low:g}..{high:g}")

    keys(fitted, "fitted", _FITTED_KEYS, {"classes"}, "a mapping {teacher, classes}")
    if "teacher" in fitted:
        text(fitted["teacher"], "fitted.teacher")
    classes = fitted["classes"]
    if not isinstance(classes, list) or not 1 <= len(classes) <= MAX_FITTED_CLASSES:
        fail("fitted.classes", classes, f"a list of 1..{MAX_FITTED_CLASSES} classes (one per teacher class)")
    for c, entry in enumerate(classes):
        at = f"fitted.classes[{c}]"
        keys(entry, at, _CLASS_KEYS, _CLASS_KEYS, "a mapping {name, weight, programs}")
        text(entry["name"], f"{at}.name")
        weight(entry["weight"], f"{at}.weight")
        programs = entry["programs"]
        if not isinstance(programs, list) or not 1 <= len(programs) <= MAX_FITTED_PROGRAMS:
            fail(f"{at}.programs", programs, f"a list of 1..{MAX_FITTED_PROGRAMS} programs")
        seen: set[str] = set()
        for j, program in enumerate(programs):
            pat = f"{at}.programs[{j}]"
            keys(program, pat, _PROGRAM_KEYS, _PROGRAM_KEYS, "a mapping {program, weight, mean, std}")
            why = check_program_ref(program["program"], user_dir)
            if why is not None:
                fail(f"{pat}.program", program["program"], why)
            if program["program"] in seen:
                fail(f"{pat}.program", program["program"], "each program once per class")
            seen.add(program["program"])
            weight(program["weight"], f"{pat}.weight")
            vector(program["mean"], f"{pat}.mean", 0.0, 1.0)
            vector(program["std"], f"{pat}.std", FITTED_STD_MIN, FITTED_STD_MAX)
        _check_weights([p["weight"] for p in programs], f"{at}.programs")
    _check_weights([entry["weight"] for entry in classes], "fitted.classes")
