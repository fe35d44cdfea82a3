"""Sampling: sample ``i`` of a spec -> (program, iTime, iParams), a pure function of (spec, i).

Randomness is counter-based (docs/DESIGN.md "Determinism is the spine"): every draw is a hash of
(seed, sample index, attempt, stream), computed for whole index arrays at once with numpy, so
any sample can be produced alone, in any order, by any process, with no RNG state to carry.
The hash is SplitMix64's finaliser (Steele, Lea & Flood, "Fast splittable pseudorandom number
generators", OOPSLA 2014). ``attempt`` > 0 draws the deterministic replacement of a sample the
quality filter rejected.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .program import N_PARAMS, ProgramSource
from .spec import COMPOSED, USER, DatasetSpec

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_STREAM_PROGRAM, _STREAM_TIME, _STREAM_PARAMS = 0, 1, 2   # params use streams 2..17


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def uniforms(seed: int, indices: np.ndarray, attempt: int, streams: int) -> np.ndarray:
    """Counter-based uniforms in [0, 1).

    Args:
        seed: spec seed (0 <= seed < 2**63).
        indices: ``(N,)`` integer sample indices.
        attempt: replacement round (0 for the original draw).
        streams: number of independent draws per sample.

    Returns:
        ``(N, streams) float64`` in [0, 1), a pure function of (seed, index, attempt, stream).
    """
    idx = np.asarray(indices, dtype=np.uint64).reshape(-1, 1)
    with np.errstate(over="ignore"):
        key = _mix64(np.array([seed], dtype=np.uint64) + _GOLDEN * np.uint64(attempt + 1))
        counters = (idx * np.uint64(streams) + np.arange(streams, dtype=np.uint64)) * _GOLDEN + key
        bits = _mix64(_mix64(counters))
    return (bits >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


@dataclass(frozen=True)
class Draw:
    """Draws for a batch of samples: ``program`` ``(N,) int64`` (index into the program
    table), ``time`` ``(N,) float32`` seconds, ``params`` ``(N, 16) float32`` in [0, 1)."""

    program: np.ndarray
    time: np.ndarray
    params: np.ndarray


class ProgramTable:
    """The programs a spec draws from, with their weights and class labels.

    Programs are hand-written families (``cls`` = catalogue index), composed programs
    (``program_id`` ``composed-XXXXXXXX``, one shared class ``composed``) and accepted user
    shaders (one class each, ``user:<file stem>``). Class names are listed in ``classes``.

    Raises:
        SpecError/ValueError: from the spec, or when ``user_dir`` yields no usable shader.
    """

    def __init__(self, spec: DatasetSpec):
        from unnatural.shaders import family_names

        self.spec = spec
        self.classes: list[str] = list(family_names()) + [COMPOSED]
        ids, weights, classes, self._sources = [], [], [], {}
        for name in family_names():
            w = spec.mix.get(name, 0.0)
            if w > 0:
                ids.append(name), weights.append(w), classes.append(self.classes.index(name))
        composed_w = spec.mix.get(COMPOSED, 0.0)
        if composed_w > 0:
            for j in range(spec.composed_programs):
                ids.append(f"composed-{self.composed_seed(j):08d}")
                weights.append(composed_w / spec.composed_programs)
                classes.append(self.classes.index(COMPOSED))
        user_w = spec.mix.get(USER, 0.0)
        if user_w > 0:
            from .user_shaders import load_user_folder

            accepted = load_user_folder(spec.user_dir).accepted
            if not accepted:
                raise ValueError(f"user_dir {spec.user_dir!r} has no usable shader (run `unnatural shaders check DIR`)")
            for prog in accepted:
                self._sources[prog.program_id] = prog
                self.classes.append(prog.family)
                ids.append(prog.program_id), weights.append(user_w / len(accepted))
                classes.append(len(self.classes) - 1)
        self.program_ids: list[str] = ids
        self.cls = np.array(classes, dtype=np.int64)
        w = np.array(weights, dtype=np.float64)
        self._cdf = np.cumsum(w / w.sum())
        self._cdf[-1] = 1.0

    def composed_seed(self, j: int) -> int:
        """Composer seed of the spec's ``j``-th composed program (spread by the spec seed)."""
        return int(uniforms(self.spec.seed, np.array([j]), attempt=-1, streams=1)[0, 0] * 2**31)

    def source(self, program: int) -> ProgramSource:
        """The :class:`ProgramSource` of table entry ``program``."""
        pid = self.program_ids[program]
        if pid not in self._sources:
            if pid.startswith("composed-"):
                from .composer import compose

                self._sources[pid] = compose(int(pid.split("-")[1]))
            else:
                from unnatural.shaders import family_source

                self._sources[pid] = ProgramSource(pid, pid, family_source(pid))
        return self._sources[pid]

    def family(self, program: int) -> str:
        return self.classes[self.cls[program]]

    @cached_property
    def programs_digest(self) -> str:
        """sha256 prefix over every program's source: changes when any GLSL changes."""
        import hashlib

        h = hashlib.sha256()
        for j in range(len(self.program_ids)):
            h.update(f"{self.program_ids[j]}:{self.source(j).digest};".encode())
        return h.hexdigest()[:16]

    def draw(self, indices: np.ndarray, attempt: int = 0) -> Draw:
        """Draw (program, time, params) for sample ``indices`` on replacement round ``attempt``."""
        u = uniforms(self.spec.seed, indices, attempt, 2 + N_PARAMS)
        program = np.searchsorted(self._cdf, u[:, _STREAM_PROGRAM], side="right").clip(max=len(self._cdf) - 1)
        span = self.spec.time_max - self.spec.time_min
        time = (self.spec.time_min + span * u[:, _STREAM_TIME]).astype(np.float32)
        # float64 -> float32 can round 1 - 2**-53 up to 1.0; keep the documented [0, 1).
        params = np.minimum(u[:, _STREAM_PARAMS:].astype(np.float32), np.float32(1.0 - 2**-24))
        return Draw(program.astype(np.int64), time, params)
