"""Sampling: sample ``i`` of a spec -> (program, iTime, iParams), a pure function of (spec, i).

Randomness is counter-based (docs/DESIGN.md "Determinism is the spine"): every draw is a hash of
(seed, sample index, attempt, stream), computed for whole index arrays at once with numpy, so
any sample can be produced alone, in any order, by any process, with no RNG state to carry.
The hash is SplitMix64's finaliser (Steele, Lea & Flood, "Fast splittable pseudorandom number
generators", OOPSLA 2014). ``attempt`` > 0 draws the deterministic replacement of a sample the
quality filter rejected.

A spec with a ``fitted`` section draws 19 streams instead of 18: stream 0 the target class (by
the CDF of the class weights), stream 1 a program of that class (by the CDF of its program
weights), stream 2 the time and streams 3..18 the parameters, each coordinate by inverse-CDF
sampling of that program's Gaussian truncated to [0, 1) (Robert, "Simulation of truncated normal
variables", Statistics and Computing 5, 1995, §2: ``x = mu + sigma * Phi^-1(Phi(a) + u (Phi(b) -
Phi(a)))``). The target class of a sample is fixed by its first draw (attempt 0): a replacement
re-draws the program and coordinates within the same class, so the quality filter cannot shift
the class shares.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .program import N_PARAMS, ProgramSource
from .spec import COMPOSED, USER, USER_ID_PREFIX, DatasetSpec

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_STREAM_PROGRAM, _STREAM_TIME, _STREAM_PARAMS = 0, 1, 2   # params use streams 2..17
_FIT_CLASS, _FIT_PROGRAM, _FIT_COORDS = 0, 1, 2             # fitted: coordinates use streams 2..18
_PARAM_MAX = np.float32(1.0 - 2**-24)                       # largest float32 below 1


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
    table), ``time`` ``(N,) float32`` seconds, ``params`` ``(N, 16) float32`` in [0, 1) and, for
    a fitted spec, ``target`` ``(N,) int64``: the index of the fitted class each sample was
    drawn for (``None`` for a plain spec)."""

    program: np.ndarray
    time: np.ndarray
    params: np.ndarray
    target: np.ndarray | None = None


class ProgramTable:
    """The programs a spec draws from, with their weights and class labels.

    Programs are hand-written families (``cls`` = catalogue index), composed programs
    (``program_id`` ``composed-XXXXXXXX``, one shared class ``composed``) and accepted user
    shaders (one class each, ``user:<file name>``). Class names are listed in ``classes``.

    A fitted spec's table holds the programs its ``fitted`` section names, in order of first
    appearance (``cls`` keeps its meaning: the program's family); ``fitted_classes`` lists the
    names of the fitted (teacher) classes, ``None`` for a plain spec.

    ``probe_timeout``: seconds each user shader's probe may take (``None``: no limit; see
    :func:`~.user_shaders.load_user_folder`). A shader past it is rejected, so the accepted set,
    hence the table and every sample drawn from it, can depend on the machine's speed: the
    rejected user shaders are kept in ``user_rejected`` (program id -> reason) for the manifest,
    and ``programs_digest`` covers the accepted ones, so a resume on a table that probed
    differently is refused.

    Raises:
        SpecError/ValueError: from the spec, or when ``user_dir`` yields no usable shader (or,
            fitted, lacks a shader the section names).
    """

    def __init__(self, spec: DatasetSpec, probe_timeout: float | None = None):
        from unnatural.shaders import family_names

        self.spec = spec
        self.probe_timeout = probe_timeout
        self.user_rejected: dict[str, str] = {}
        self.classes: list[str] = list(family_names()) + [COMPOSED]
        self.fitted_classes: list[str] | None = None
        self._sources: dict[str, ProgramSource] = {}
        if spec.fitted is not None:
            self._init_fitted(spec)
            return
        ids, weights, classes = [], [], []
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
            accepted = self._load_user_folder()
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

    def _init_fitted(self, spec: DatasetSpec) -> None:
        from scipy.special import ndtr

        from unnatural.shaders import family_names

        entries = [(c, p) for c, entry in enumerate(spec.fitted["classes"]) for p in entry["programs"]]
        ids = list(dict.fromkeys(p["program"] for _, p in entries))
        users = [pid for pid in ids if pid.startswith(USER_ID_PREFIX)]
        if users:
            accepted = {prog.program_id: prog for prog in self._load_user_folder()}
            missing = [pid for pid in users if pid not in accepted]
            if missing:
                why = self.user_rejected.get(missing[0], "run `unnatural shaders check DIR`")
                raise ValueError(f"fitted program {missing[0]!r} is not an accepted shader of user_dir "
                                 f"{spec.user_dir!r} ({why})")
            self._sources.update((pid, accepted[pid]) for pid in users)
        families = set(family_names())
        classes = []
        for pid in ids:
            if pid in families:
                classes.append(self.classes.index(pid))
            elif pid.startswith(USER_ID_PREFIX):
                self.classes.append(self._sources[pid].family)
                classes.append(len(self.classes) - 1)
            else:
                classes.append(self.classes.index(COMPOSED))
        self.program_ids = ids
        self.cls = np.array(classes, dtype=np.int64)
        self.fitted_classes = [entry["name"] for entry in spec.fitted["classes"]]
        self._cdf = None
        self._class_cdf = _cdf([entry["weight"] for entry in spec.fitted["classes"]])
        counts = [len(entry["programs"]) for entry in spec.fitted["classes"]]
        self._class_start = np.cumsum([0] + counts[:-1]).astype(np.int64)
        self._class_count = np.array(counts, dtype=np.int64)
        # Row c: the cumulative program weights of class c, padded with 2 (above every uniform).
        self._program_cdf = np.full((len(counts), max(counts)), 2.0)
        for c, entry in enumerate(spec.fitted["classes"]):
            self._program_cdf[c, :counts[c]] = _cdf([p["weight"] for p in entry["programs"]])
        index = {pid: j for j, pid in enumerate(ids)}
        self._entry_program = np.array([index[p["program"]] for _, p in entries], dtype=np.int64)
        self._mean = np.array([p["mean"] for _, p in entries], dtype=np.float64)
        self._std = np.array([p["std"] for _, p in entries], dtype=np.float64)
        self._low = ndtr((0.0 - self._mean) / self._std)    # Phi at the truncation bounds
        self._high = ndtr((1.0 - self._mean) / self._std)

    def _load_user_folder(self) -> list[ProgramSource]:
        """The accepted shaders of ``spec.user_dir``; records the rejected ones' reasons."""
        from .user_shaders import load_user_folder

        folder = load_user_folder(self.spec.user_dir, timeout=self.probe_timeout)
        self.user_rejected = {r.program_id: r.reason for r in folder.reports if r.status != "ok"}
        return folder.accepted

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
        """Draw (program, time, params) for sample ``indices`` (``(N,)`` ints) on replacement
        round ``attempt``; for a fitted spec also the target class (see the module docstring)."""
        if self.fitted_classes is not None:
            return self._draw_fitted(indices, attempt)
        u = uniforms(self.spec.seed, indices, attempt, 2 + N_PARAMS)
        program = np.searchsorted(self._cdf, u[:, _STREAM_PROGRAM], side="right").clip(max=len(self._cdf) - 1)
        span = self.spec.time_max - self.spec.time_min
        time = (self.spec.time_min + span * u[:, _STREAM_TIME]).astype(np.float32)
        # float64 -> float32 can round 1 - 2**-53 up to 1.0; keep the documented [0, 1).
        params = np.minimum(u[:, _STREAM_PARAMS:].astype(np.float32), np.float32(1.0 - 2**-24))
        return Draw(program.astype(np.int64), time, params)

    def _draw_fitted(self, indices: np.ndarray, attempt: int) -> Draw:
        from scipy.special import ndtri

        streams = _FIT_COORDS + 1 + N_PARAMS
        u = uniforms(self.spec.seed, indices, attempt, streams)
        first = u if attempt == 0 else uniforms(self.spec.seed, indices, 0, streams)
        k = len(self._class_cdf)
        target = np.searchsorted(self._class_cdf, first[:, _FIT_CLASS], side="right").clip(max=k - 1)
        slot = (self._program_cdf[target] <= u[:, _FIT_PROGRAM, None]).sum(1)
        entry = self._class_start[target] + np.minimum(slot, self._class_count[target] - 1)
        low, high = self._low[entry], self._high[entry]
        with np.errstate(divide="ignore", invalid="ignore"):   # ndtri(0 or 1) = -inf or inf: clipped
            x = self._mean[entry] + self._std[entry] * ndtri(low + u[:, _FIT_COORDS:] * (high - low))
        x = np.clip(np.nan_to_num(x, nan=0.5), 0.0, 1.0)
        span = self.spec.time_max - self.spec.time_min
        time = (self.spec.time_min + span * x[:, 0]).astype(np.float32)
        params = np.minimum(x[:, 1:].astype(np.float32), _PARAM_MAX)
        return Draw(self._entry_program[entry], time, params, target.astype(np.int64))


def _cdf(weights: list[float]) -> np.ndarray:
    """``(n,) float64`` cumulative normalised weights, the last exactly 1."""
    w = np.asarray(weights, dtype=np.float64)
    cdf = np.cumsum(w / w.sum())
    cdf[-1] = 1.0
    return cdf
