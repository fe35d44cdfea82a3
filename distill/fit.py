"""Teacher-fitted specs (``unnatural fit``): choose shader programs and sampling distributions
for each class of a teacher, so that the teacher sees the rendered set as class-balanced.

Method (docs/METHODS.md §10), deterministic for a given seed on one machine:

a. **Screen.** Render ``screen`` images of the base spec (default: the default mix at the
   teacher's input size with :data:`FIT_POOL` composed programs) and score them with the teacher's softmax. For every program ``p``
   and class ``c``: how many samples, and the mean ``p_c`` of its best :data:`ELITE_FRACTION`
   of draws (a program that reaches ``c`` in a corner of its parameter space counts).
b. **Choose.** Per class, the ``M`` programs (default 32, at least 8) with the best such score
   among the programs the screen rendered at least twice.
c. **Search.** The cross-entropy method (Rubinstein & Kroese, "The Cross-Entropy Method: A
   Unified Approach to Combinatorial Optimization, Monte-Carlo Simulation and Machine
   Learning", Springer 2004, ch. 4-5: Gaussian sampling densities, elite fraction, smoothed
   updates) per (class, program) over the 17 coordinates (``iTime`` normalised, 16 ``iParams``),
   each a Gaussian truncated to [0, 1). It starts from the mean and std of the pair's top
   screened draws (mean 0.5, std 0.3 with too few). Each round renders every pair's
   candidates in one render call: a temporary fitted spec whose classes hold the pairs with
   equal weights; a sample's target class and program come from its draw. A candidate scores
   ``log p_c``; the elites are all the candidates the teacher assigns to ``c`` (when fewer than
   the top :data:`ELITE_FRACTION`, that top by ``log p_c``); mean and std move to
   ``SMOOTHING * elite + (1 - SMOOTHING) * old``, the std floored at :data:`STD_FLOOR`. The last
   round renders the final distributions without updating them: it measures what is written.
   (Elites 10% and smoothing 0.9 over 8 rounds beat 25% and 0.7 over 5 at the same budget on a
   Fashion-MNIST LeNet-5: check entropy 0.997 against 0.885; docs/METHODS.md §10.)
d. **Weights.** Within a class, a program's weight is its last-round hit rate (share of its
   samples the teacher assigns to ``c``) to the power :data:`HIT_POWER`, mixed with a uniform
   share :data:`UNIFORM_SHARE` and capped at :data:`PROGRAM_CAP`, so no program dominates a
   class and every chosen program keeps a share. Class weights ``w`` solve the
   non-negative least squares problem (Lawson & Hanson, "Solving Least Squares Problems", 1974,
   ch. 23; ``scipy.optimize.nnls``) ``min ||A^T w - 1/K||^2 + (sum w - 1)^2``, where ``A[c, k]`` is
   the share of the class-``c`` samples (at the chosen program weights) that the teacher
   assigns to ``k``: the argmax histogram is then as close to uniform as the confusion allows.
   Each ``w_c`` is floored at ``CLASS_FLOOR / K``.
e. **Check.** The first ``check`` samples of the fitted spec are rendered and scored: the
   normalized argmax entropy (criterion (a) of arXiv:2411.12817, docs/METHODS.md §1), each
   class's share and hit rate, the distinct programs feeding each class (at least
   :data:`FEEDING_SHARE` of the images the teacher assigns to it). A class whose hit rate is under
   :data:`UNREACHED` is listed by name with its best hit rate.

Rendering runs in a :class:`~unnatural.generator.sample_pool.SamplePool` (spawned render
processes, one EGL context each; none in this process); the teacher runs here on ``device``.
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from unnatural.generator.files import atomic_write
from unnatural.generator.sampling import uniforms
from unnatural.generator.spec import FITTED_COORDS, DatasetSpec

DEFAULT_BUDGET = 150_000       # images rendered in all (a 10-class 32 px teacher: ~2 min here)
DEFAULT_PROGRAMS = 32          # programs per class
FIT_POOL = 512                 # composed programs of the default base spec (raw material, §10)
MIN_PROGRAMS = 8               # the least --programs-per-class (the diversity goal)
MAX_PROGRAMS = 256
DEFAULT_ROUNDS = 8             # cross-entropy rounds, the last one only measures
SCREEN_SHARE = 0.25            # of the budget: the screen
CHECK_SHARE = 0.10             # of the budget, at most MAX_CHECK: the final check
MAX_CHECK = 4096
MIN_RENDERS_PER_PAIR = 8       # per (class, program) and round: the least a budget must give
MIN_SCREEN_SAMPLES = 2         # a program needs this many screen samples to be chosen
INIT_MIN_SAMPLES = 8           # ... and this many to start from its screened draws
INIT_MEAN, INIT_STD = 0.5, 0.3
ELITE_FRACTION = 0.1           # of a pair's candidates in a round; also the screen's "best draws"
MIN_ELITES = 2
SMOOTHING = 0.9                # new = SMOOTHING * elite statistic + (1 - SMOOTHING) * old
STD_FLOOR = 0.02
PROGRAM_CAP = 0.2              # the most weight one program takes within a class
HIT_POWER = 1                  # program weight ~ hit rate ** HIT_POWER (before the uniform share and cap)
UNIFORM_SHARE = 0.25           # of a class's weight spread evenly over its programs
FEEDING_SHARE = 0.01           # a program "feeds" a class with at least this share of its images
CLASS_FLOOR = 0.1              # class weights >= CLASS_FLOOR / K before normalising
UNREACHED = 0.05               # a class with a lower check hit rate is reported as unreached
SCORE_BATCH = 1024
DIGITS = 6                     # decimals kept of the weights, means and stds written


@dataclass(frozen=True)
class FitConfig:
    """Settings of one fit.

    Attributes:
        budget: images rendered in all (screen + rounds + check), >= 1.
        seed: search seed in [0, 2**63): picks the screen's and the rounds' samples.
        programs_per_class: M, in [MIN_PROGRAMS, MAX_PROGRAMS].
        rounds: cross-entropy rounds, >= 2 (the last one measures, the others update).

    Raises:
        ValueError: a value out of range (the message names it and the range).
    """

    budget: int = DEFAULT_BUDGET
    seed: int = 0
    programs_per_class: int = DEFAULT_PROGRAMS
    rounds: int = DEFAULT_ROUNDS

    def __post_init__(self) -> None:
        for name, low, high in (("budget", 1, 10**10), ("seed", 0, 2**63 - 1),
                                ("programs_per_class", MIN_PROGRAMS, MAX_PROGRAMS), ("rounds", 2, 100)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name} {value!r} is invalid: allowed integers {low}..{high}")


@dataclass(frozen=True)
class BudgetPlan:
    """How a budget is spent: ``screen`` images, ``rounds`` rounds of ``round_images`` (about
    ``per_pair`` per (class, program)), and ``check`` images."""

    screen: int
    rounds: int
    round_images: int
    per_pair: int
    check: int

    @property
    def total(self) -> int:
        return self.screen + self.rounds * self.round_images + self.check


def _split(budget: int, pairs: int, rounds: int) -> BudgetPlan:
    screen = int(budget * SCREEN_SHARE)
    check = min(MAX_CHECK, int(budget * CHECK_SHARE))
    round_images = (budget - screen - check) // rounds
    return BudgetPlan(screen, rounds, round_images, round_images // max(1, pairs), check)


def minimum_budget(classes: int, programs: int, rounds: int) -> int:
    """The least budget from which on :func:`plan_budget` accepts every budget, for this many
    classes, programs per class and rounds.

    The rounds get at least ``(1 - SCREEN_SHARE - CHECK_SHARE)`` of any budget, so every budget
    from ``need / that`` on is enough; below it the integer split is not monotone, so the
    answer is one above the largest budget that is not enough.
    """
    need = classes * programs * rounds * MIN_RENDERS_PER_PAIR
    budget = math.ceil(need / (1 - SCREEN_SHARE - CHECK_SHARE))
    while budget > 1 and _split(budget - 1, classes * programs, rounds).per_pair >= MIN_RENDERS_PER_PAIR:
        budget -= 1
    return budget


def plan_budget(budget: int, classes: int, programs: int, rounds: int) -> BudgetPlan:
    """Split ``budget`` images: :data:`SCREEN_SHARE` for the screen, :data:`CHECK_SHARE` (at
    most :data:`MAX_CHECK`) for the check, the rest evenly over the rounds.

    Raises:
        ValueError: the rounds would give a (class, program) pair fewer than
            :data:`MIN_RENDERS_PER_PAIR` renders; the message gives the minimum budget.
    """
    plan = _split(budget, classes * programs, rounds)
    if plan.per_pair < MIN_RENDERS_PER_PAIR:
        raise ValueError(f"budget {budget} is too small for {classes} classes x {programs} programs x {rounds} "
                         f"rounds: allowed >= {minimum_budget(classes, programs, rounds)} images "
                         f"({MIN_RENDERS_PER_PAIR} renders per class and program per round, plus "
                         f"{SCREEN_SHARE:.0%} for the screen and {CHECK_SHARE:.0%} for the check)")
    return plan


def stage_seed(seed: int, stage: int) -> int:
    """The spec seed of fit stage ``stage`` (0 screen, 1.. rounds): a hash of (seed, stage)."""
    return int(uniforms(seed, np.array([stage]), attempt=0, streams=1)[0, 0] * 2**62)


def file_digest(path: Path) -> str:
    """``sha256:`` and the first 16 hex digits of the file's sha256."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return f"sha256:{h.hexdigest()[:16]}"


def capped_weights(weights: np.ndarray, cap: float) -> np.ndarray:
    """``weights`` (``(n,)`` >= 0, positive sum) normalised, with no entry above ``cap`` (raised
    to ``1/n`` when lower): the excess of capped entries goes to the others in proportion
    (to all of them evenly when those others are 0)."""
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    cap = max(cap, 1.0 / len(w))
    for _ in range(len(w)):
        over = w > cap
        if not over.any():
            break
        excess = float((w[over] - cap).sum())
        w[over] = cap
        free = w < cap
        share = w[free].sum()
        w[free] += excess * (w[free] / share if share > 0 else 1.0 / free.sum())
    return w / w.sum()


def class_weights(confusion: np.ndarray) -> np.ndarray:
    """Class weights ``(K,)`` that make ``confusion.T @ w`` (the expected argmax shares) as
    uniform as non-negative least squares can, floored at ``CLASS_FLOOR / K`` and normalised.

    ``confusion``: ``(K, K)``, row ``c`` the share of class-``c`` samples assigned to each class.
    """
    from scipy.optimize import nnls

    k = len(confusion)
    system = np.vstack([confusion.T, np.ones((1, k))])
    target = np.concatenate([np.full(k, 1.0 / k), [1.0]])
    w, _ = nnls(system, target)
    w = np.maximum(w, CLASS_FLOOR / k)
    return w / w.sum()


def normalized_entropy(histogram: np.ndarray) -> float:
    """H(p)/log K of a ``(K,)`` count histogram (:func:`unnatural.distill.balance.normalized_entropy`)."""
    from .balance import normalized_entropy as entropy

    return entropy(torch.as_tensor(np.asarray(histogram)))


def _coordinates(samples, spec: DatasetSpec) -> np.ndarray:
    """``(N, 17) float64``: iTime mapped to [0, 1] over the spec's time range (0.5 when the
    range is one point), then the 16 iParams."""
    span = spec.time_max - spec.time_min
    t = (samples.time.astype(np.float64) - spec.time_min) / span if span > 0 else np.full(len(samples.time), 0.5)
    return np.concatenate([np.clip(t, 0.0, 1.0)[:, None], samples.params.astype(np.float64)], axis=1)


def _top(scores: np.ndarray, fraction: float) -> np.ndarray:
    """Positions of the best ``max(MIN_ELITES, ceil(fraction * n))`` scores (at most n), best first;
    ties keep index order."""
    q = min(len(scores), max(MIN_ELITES, math.ceil(fraction * len(scores))))
    return np.argsort(-scores, kind="stable")[:q]


def _elites(logp: np.ndarray, pred: np.ndarray, rows: np.ndarray, c: int) -> np.ndarray:
    """The elite rows of class ``c`` among ``rows``: every row the teacher assigns to ``c``
    (``pred``: the argmax of ``logp``, computed once per round by the caller) when there are at
    least as many as the top fraction would keep, else the :func:`_top` rows by ``log p_c``.

    Taking every hit, not only the most confident ones, fits a pair's distribution to the whole
    region the teacher calls ``c``, so its std does not collapse onto one prototype; a narrow set
    taught students shortcuts (docs/METHODS.md §10)."""
    hit = rows[pred[rows] == c]
    if len(hit) >= min(len(rows), max(MIN_ELITES, math.ceil(ELITE_FRACTION * len(rows)))):
        return hit
    return rows[_top(logp[rows, c], ELITE_FRACTION)]


class _Teacher:
    """The frozen teacher and how it sees rendered images."""

    def __init__(self, path: Path, device: str, input_size: int):
        from .checkpoint import load_model
        from .training import pick_device

        self.device = pick_device(device)
        self.model, self.info = load_model(path, self.device, input_size=input_size)
        self.num_classes = self.info.num_classes
        names = list(self.info.classes or [])
        self.names = [str(names[c])[:200] if c < len(names) and str(names[c]) else str(c)
                      for c in range(self.num_classes)]

    def log_probs(self, images: np.ndarray) -> np.ndarray:
        """``(N, H, W, 3) uint8`` -> ``(N, K) float32`` log-softmax of the teacher, images
        converted by :func:`unnatural.distill.kd.as_float_images` (resize, luma for 1 channel)."""
        from .kd import as_float_images

        out = []
        with torch.no_grad():
            for a in range(0, len(images), SCORE_BATCH):
                batch = torch.from_numpy(np.ascontiguousarray(images[a:a + SCORE_BATCH])).permute(0, 3, 1, 2)
                x = as_float_images(batch, self.device, self.info.input_size, self.info.channels)
                out.append(self.model(x).float().log_softmax(1).cpu())
        return torch.cat(out).numpy()


def _section(teacher: str, names: list[str], pairs: list[tuple[int, str]], mean: np.ndarray, std: np.ndarray,
             program_w: np.ndarray, class_w: np.ndarray) -> dict:
    """A ``fitted`` section: class ``c`` holds the pairs ``(c, program)`` in order."""
    classes = []
    for c, name in enumerate(names):
        rows = [j for j, (pc, _) in enumerate(pairs) if pc == c]
        classes.append({"name": name, "weight": float(class_w[c]), "programs": [
            {"program": pairs[j][1], "weight": float(program_w[j]), "mean": mean[j].tolist(), "std": std[j].tolist()}
            for j in rows]})
    return {"teacher": teacher, "classes": classes}


def _pair_index(samples, program_ids: list[str], pairs: list[tuple[int, str]], k: int) -> np.ndarray:
    """``(N,) int64``: which pair each sample of a round belongs to (by its target and program)."""
    position = {pid: j for j, pid in enumerate(program_ids)}
    lookup = np.full(k * len(program_ids), -1, dtype=np.int64)
    for j, (c, pid) in enumerate(pairs):
        lookup[c * len(program_ids) + position[pid]] = j
    return lookup[samples.target * len(program_ids) + samples.program]


@dataclass
class FitResult:
    """``spec``: the fitted :class:`DatasetSpec`; ``report``: JSON-ready measurements."""

    spec: DatasetSpec
    report: dict


def fit(teacher: str | Path, base: DatasetSpec | None = None, config: FitConfig = FitConfig(),
        device: str = "auto", workers: int | None = None, progress: bool = True) -> FitResult:
    """Fit a spec to ``teacher`` (the method is in the module docstring).

    Args:
        teacher: model file (this project's format or TorchScript, which is taken at the base
            spec's width, or 32 px without a base).
        base: the spec to start from (default: the default spec at the teacher's input size).
            Its ``fitted`` section, if any, must have the teacher's class count; the screen
            then renders it as it is (a refit), and the result replaces it. Everything but
            ``fitted`` is kept in the result.
        config: budget, seed, programs per class, rounds.
        device: where the teacher runs (``auto``: CUDA when available).
        workers: render processes (``None``: one per NVIDIA GPU, else one per CPU core).
        progress: a tqdm bar over the images rendered.

    Returns:
        :class:`FitResult`. ``report`` holds the plan, the screen's entropy (the base as the
        teacher sees it), per-round hit rates, per (class, program) pair its last-round hit rate,
        weight and confusion row, and the check: ``normalized_entropy``, per class ``share``,
        ``hit_rate``, ``best_hit_rate``, ``programs`` (distinct programs making at least
        :data:`FEEDING_SHARE` of the images the teacher assigns to it; ``programs_any``: at least
        one image) and ``unreached`` (classes under :data:`UNREACHED`).

    Raises:
        FileNotFoundError: no teacher file. ValueError: not a model file, a class-count
        mismatch, a budget too small (the message names the minimum) or a base whose programs
        all fail to render.
        JobError: a render process died.
    """
    from unnatural.generator.sample_pool import SamplePool

    started = time.perf_counter()
    teacher = Path(teacher)
    net = _Teacher(teacher, device, base.width if base is not None else 32)
    k, names = net.num_classes, net.names
    if base is None:
        base = DatasetSpec(width=net.info.input_size, height=net.info.input_size, composed_programs=FIT_POOL)
    if base.fitted is not None and len(base.fitted["classes"]) != k:
        raise ValueError(f"the base spec's fitted section has {len(base.fitted['classes'])} classes but the teacher "
                         f"{str(teacher)!r} has {k}: allowed a spec fitted to a {k}-class teacher, or none")
    plan = plan_budget(config.budget, k, config.programs_per_class, config.rounds)
    tag = file_digest(teacher)
    plain = base.replace(fitted=None)
    report: dict = {"teacher": str(teacher), "teacher_digest": tag, "classes": names,
                    "input_size": net.info.input_size, "channels": net.info.channels, "device": str(net.device),
                    "config": asdict(config), "plan": {**asdict(plan), "total": plan.total}}
    timing = {"render_s": 0.0, "score_s": 0.0}
    bar = tqdm(total=plan.total, unit="img", desc="fit: screen", disable=not progress, dynamic_ncols=True)

    def render(pool: SamplePool, spec: DatasetSpec, count: int):
        t = time.perf_counter()
        samples, ids = pool.render(spec, 0, count, on_images=bar.update)
        timing["render_s"] += time.perf_counter() - t
        t = time.perf_counter()
        logp = net.log_probs(samples.images)
        timing["score_s"] += time.perf_counter() - t
        return samples, ids, logp

    try:
        with SamplePool(workers) as pool:
            # a. screen
            screen_spec = base.replace(name="fit-screen", seed=stage_seed(config.seed, 0), format="npy",
                                       images=plan.screen)
            samples, ids, logp = render(pool, screen_spec, plan.screen)
            prob, pred = np.exp(logp), logp.argmax(1)
            report["screen"] = {"images": len(pred), "programs": len(ids),
                                "normalized_entropy": normalized_entropy(np.bincount(pred, minlength=k)),
                                "histogram": np.bincount(pred, minlength=k).tolist()}
            coords = _coordinates(samples, screen_spec)
            # b. choose: per program and class, the mean p_c of the program's best ELITE_FRACTION of draws
            count = np.bincount(samples.program, minlength=len(ids))
            eligible = np.flatnonzero(count >= MIN_SCREEN_SAMPLES)
            if len(eligible) == 0:
                raise ValueError(f"the screen rendered no program {MIN_SCREEN_SAMPLES} times: allowed a larger "
                                 f"--budget or a base spec with fewer programs")
            by_program = {int(p): np.flatnonzero(samples.program == p) for p in eligible}
            quality = np.zeros((len(ids), k))
            for p, rows in by_program.items():
                quality[p] = np.sort(prob[rows], axis=0)[::-1][:max(1, math.ceil(ELITE_FRACTION * len(rows)))].mean(0)
            pairs: list[tuple[int, str]] = []
            means, stds = [], []
            for c in range(k):
                order = eligible[np.argsort(-quality[eligible, c], kind="stable")][:config.programs_per_class]
                for p in order.tolist():
                    rows = by_program[p]
                    pairs.append((c, ids[p]))
                    if len(rows) >= INIT_MIN_SAMPLES:
                        top = coords[_elites(logp, pred, rows, c)]
                        means.append(top.mean(0))
                        stds.append(np.maximum(top.std(0), STD_FLOOR))
                    else:
                        means.append(np.full(FITTED_COORDS, INIT_MEAN))
                        stds.append(np.full(FITTED_COORDS, INIT_STD))
            mean, std = np.array(means), np.array(stds)
            counts = np.bincount([c for c, _ in pairs], minlength=k)
            # c. cross-entropy rounds
            best_hit = np.zeros(k)
            rounds = []
            hits = np.zeros(len(pairs))
            confusion = np.zeros((len(pairs), k))
            equal = np.ones(len(pairs))
            for r in range(plan.rounds):
                last = r == plan.rounds - 1
                bar.set_description(f"fit: round {r + 1}/{plan.rounds}")
                round_spec = plain.replace(name="fit-round", seed=stage_seed(config.seed, r + 1), format="npy",
                                           images=plan.round_images,
                                           fitted=_section(tag, names, pairs, mean, std, equal, counts.astype(float)))
                samples, ids, logp = render(pool, round_spec, plan.round_images)
                coords, pred = _coordinates(samples, round_spec), logp.argmax(1)
                which = _pair_index(samples, ids, pairs, k)
                for j, (c, _) in enumerate(pairs):
                    rows = np.flatnonzero(which == j)
                    if len(rows) == 0:
                        hits[j], confusion[j] = 0.0, 0.0
                        continue
                    hits[j] = float((pred[rows] == c).mean())
                    confusion[j] = np.bincount(pred[rows], minlength=k) / len(rows)
                    if not last and len(rows) >= MIN_ELITES:
                        elite = coords[_elites(logp, pred, rows, c)]
                        mean[j] = np.clip(SMOOTHING * elite.mean(0) + (1 - SMOOTHING) * mean[j], 0.0, 1.0)
                        std[j] = np.maximum(SMOOTHING * elite.std(0) + (1 - SMOOTHING) * std[j], STD_FLOOR)
                per_class = [float(hits[[j for j, (pc, _) in enumerate(pairs) if pc == c]].mean()) for c in range(k)]
                for j, (c, _) in enumerate(pairs):
                    best_hit[c] = max(best_hit[c], hits[j])
                rounds.append({"round": r + 1, "images": len(pred), "updates": not last,
                               "normalized_entropy": normalized_entropy(np.bincount(pred, minlength=k)),
                               "mean_hit_rate": per_class})
            report["rounds"] = rounds
            # d. weights
            program_w = np.zeros(len(pairs))
            class_confusion = np.zeros((k, k))
            for c in range(k):
                rows = np.array([j for j, (pc, _) in enumerate(pairs) if pc == c])
                h = hits[rows] ** HIT_POWER
                w = np.full(len(rows), 1.0 / len(rows))
                if h.sum() > 0:
                    w = (1 - UNIFORM_SHARE) * h / h.sum() + UNIFORM_SHARE * w
                program_w[rows] = capped_weights(w, PROGRAM_CAP)
                class_confusion[c] = program_w[rows] @ confusion[rows]
            class_w = class_weights(class_confusion)
            report["expected_normalized_entropy"] = normalized_entropy(class_confusion.T @ class_w)
            report["pairs"] = [{"class": c, "program": pid, "hit_rate": float(hits[j]), "weight": float(program_w[j]),
                                "confusion": confusion[j].round(4).tolist()} for j, (c, pid) in enumerate(pairs)]
            section = _section(tag, names, pairs, mean.round(DIGITS), std.round(DIGITS), program_w.round(DIGITS),
                               class_w.round(DIGITS))
            fitted = plain.replace(fitted=section)
            # e. check
            bar.set_description("fit: check")
            samples, ids, logp = render(pool, fitted, plan.check)
    finally:
        bar.close()
    report["check"] = _check(samples, ids, logp, names, best_hit)
    report["timing"] = {**{key: round(v, 2) for key, v in timing.items()},
                        "wall_s": round(time.perf_counter() - started, 2)}
    report["spec_hash"] = fitted.spec_hash
    return FitResult(fitted, report)


def _check(samples, ids: list[str], logp: np.ndarray, names: list[str], best_hit: np.ndarray) -> dict:
    """The check set's measurements (see :func:`fit`)."""
    k = len(names)
    pred = logp.argmax(1)
    histogram = np.bincount(pred, minlength=k)
    per_class, unreached = [], []
    for c, name in enumerate(names):
        mine = samples.target == c
        hit = float((pred[mine] == c).mean()) if mine.any() else 0.0
        best = max(float(best_hit[c]), hit)
        feeding = np.bincount(samples.program[pred == c], minlength=len(ids))
        per_class.append({"name": name, "share": float(histogram[c] / len(pred)), "targeted": int(mine.sum()),
                          "hit_rate": hit, "best_hit_rate": best,
                          "programs": int((feeding >= max(1.0, FEEDING_SHARE * feeding.sum())).sum()),
                          "programs_any": int((feeding > 0).sum()),
                          "programs_targeted": len(np.unique(samples.program[mine]))})
        if hit < UNREACHED:
            unreached.append({"index": c, "name": name, "hit_rate": hit, "best_hit_rate": best})
    return {"images": len(pred), "normalized_entropy": normalized_entropy(histogram),
            "histogram": histogram.tolist(), "min_programs": min(c["programs"] for c in per_class),
            "classes": per_class, "unreached": unreached}


def report_path(out: str | Path) -> Path:
    """``FITTED.report.json`` next to ``FITTED.yaml``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.report.json")


def write_fit(result: FitResult, out: str | Path) -> Path:
    """Write the fitted spec to ``out`` (YAML for ``.yaml``/``.yml``, else JSON) and the report
    to :func:`report_path`, each atomically; returns the report's path."""
    import yaml

    out = Path(out)
    data = result.spec.to_dict()
    if out.suffix.lower() in (".yaml", ".yml"):
        text = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120)
    else:
        text = json.dumps(data, indent=1) + "\n"
    atomic_write(out, text.encode())
    path = report_path(out)
    atomic_write(path, (json.dumps(result.report, indent=1) + "\n").encode())
    return path
