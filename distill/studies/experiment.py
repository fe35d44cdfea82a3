"""Distillation benchmarks: one teacher, then students of one architecture distilled from
several image sets, several seeds each, evaluated on the real test split.

``make experiment-fashion`` (Fashion-MNIST, LeNet-5 -> LeNet-5-Half at 32 px, the setting of
Nayak et al., ICML 2019, docs/METHODS.md §8) and ``make experiment-digits`` (scikit-learn's
digits at 16 px, the quick check) run the same runner and recipe shape:

1. train the teacher on the real training split (best validation checkpoint);
2. render the default shader mix at the teacher's input size (shards), decoded once into an
   array that every student reads;
3. for every seed and every row (an image set: real training images, shader images, shader
   images with class balancing and boundary samples, Gaussian noise), distill a student with
   Hinton KD and evaluate it on the real test split;
4. kd-score each set (the teacher's argmax histogram, its normalized entropy, mean max-softmax);
5. write ``OUT/results.json``, a section of docs/RESULTS.md (mean ± std over seeds, beside the
   published rows) and a plot of test accuracy over KD steps.

Rows are a list (:data:`ROWS`): later rows (fitted specs, ...) add entries. Every finished
(row, seed) is a line in ``OUT/results.jsonl`` keyed by its recipe, so a rerun keeps finished
rows, resumes an interrupted student from its checkpoint and renders nothing twice. Students of
the fitted rows also record the fitted spec's hash: after a refit (a new ``OUT/fitted.yaml``)
they count as unfinished and are trained again.

usage: python -m unnatural.distill.studies.experiment {fashion,digits} [--out DIR] [--seeds 0-2] [--rows a,b,c,d]
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from unnatural.generator.files import atomic_write, save_figure

from .bn import parse_seeds
from .report import replace_section
from .workspace import (SYNTHETIC_AUGMENT, TEACHER_AUGMENT, ensure_array, ensure_fitted, ensure_impressions,
                        ensure_shards, ensure_teacher, ensure_union)


@dataclass(frozen=True)
class Recipe:
    """The student recipe: Hinton KD (T^2-scaled KL), warm-up + cosine. ``augment`` is an
    :meth:`AugmentConfig.parse` text (magnitudes scale with the image side)."""

    steps: int
    batch_size: int = 128
    optimizer: str = "adamw"
    lr: float = 2e-3
    weight_decay: float = 1e-4
    temperature: float = 4.0
    augment: str = SYNTHETIC_AUGMENT


@dataclass(frozen=True)
class Benchmark:
    """A teacher/student setting and the published figures printed beside ours."""

    name: str
    dataset: str
    size: int
    teacher_arch: str
    student_arch: str
    teacher: dict            # ensure_teacher keywords: epochs, optimizer, lr, weight_decay, augment
    recipe: Recipe
    images: int              # shader images rendered for the shader rows
    published: tuple = ()    # (label, test accuracy %) rows from the literature
    source: str = ""
    mirrored: bool = True    # the teacher's classes survive a left-right mirror (impression priors flip)


@dataclass(frozen=True)
class Row:
    """One image set to distill from: ``data`` is ``real`` (the teacher's training images),
    ``shaders`` (the rendered default mix), ``fitted`` (the rendered teacher-fitted spec,
    ``unnatural fit``), ``fitted+shaders`` (both sets together, twice the images),
    ``fitted+impressions`` (the fitted set and ZSKD data impressions of its first half,
    :mod:`unnatural.distill.impressions`), ``fitted+prior-impressions`` (the same with
    DeepInversion's image priors), ``fitted+all-prior-impressions`` (impressions with priors of
    the whole fitted set), ``fitted+all-light-impressions`` (the same with a quarter of the
    optimisation steps) or ``noise``."""

    key: str
    label: str
    data: str
    balance: bool = False
    adversarial: float = 0.0
    augment: str = ""   # key=value settings (AugmentConfig.parse) added to the recipe's augmentation


ROWS = (
    Row("a", "(a) real training images, KD", "real"),
    Row("b", "(b) shader images, default mix", "shaders"),
    Row("c", "(c) default mix + class balancing + boundary samples", "shaders", balance=True, adversarial=0.25),
    Row("d", "(d) Gaussian noise", "noise"),
    Row("e", "(e) teacher-fitted spec", "fitted"),
    Row("f", "(f) teacher-fitted spec + boundary samples", "fitted", adversarial=0.25),
    Row("g", "(g) default mix and fitted spec together + boundary samples", "fitted+shaders", adversarial=0.25),
    Row("h", "(h) teacher-fitted spec, low-pass 0.5", "fitted", augment="lowpass=0.5"),
    Row("i", "(i) teacher-fitted spec + data impressions of half of it", "fitted+impressions"),
    Row("j", "(j) as (i), impressions with image priors (TV, jitter)", "fitted+prior-impressions"),
    Row("k", "(k) as (j), low-pass 0.5", "fitted+prior-impressions", augment="lowpass=0.5"),
    Row("l", "(l) as (k), impressions of the whole fitted set", "fitted+all-prior-impressions", augment="lowpass=0.5"),
    Row("m", "(m) as (l), light impressions (25 steps, not 100)", "fitted+all-light-impressions",
        augment="lowpass=0.5"),
    Row("n", "(n) as (m), mixup", "fitted+all-light-impressions", augment="lowpass=0.5,mixup=1"),
)

BENCHMARKS = {
    "fashion": Benchmark(
        name="fashion", dataset="fashion-mnist", size=32, teacher_arch="lenet5", student_arch="lenet5_half",
        teacher={"epochs": 15, "optimizer": "adamw", "lr": 2e-3, "weight_decay": 1e-4, "augment": "off"},
        # measured here: T = 2 beat T = 4 (89.7% vs 88.6% real-data KD at 9,000 steps); the synthetic
        # augmentation recipe costs ~45 ms per batch on a CPU core, 4x the step, so this runs without
        recipe=Recipe(steps=9000, temperature=2.0, augment="off"), images=100_000,
        published=(("teacher LeNet-5, cross-entropy", 90.84), ("student, cross-entropy on the 60k real images", 89.43),
                   ("student, KD on the 60k real images", 89.66), ("Kimura et al. 2018, 200 real images", 72.50),
                   ("ZSKD, 48k data impressions, no real data", 79.62)),
        source="Nayak et al., Zero-Shot Knowledge Distillation in Deep Networks, ICML 2019, docs/METHODS.md §8"),
    "digits": Benchmark(
        name="digits", dataset="digits", size=16, teacher_arch="resnet8", student_arch="resnet8",
        teacher={"epochs": 30, "optimizer": "sgd", "lr": 0.05, "weight_decay": 5e-4},
        recipe=Recipe(steps=1000, optimizer="sgd", lr=0.05, weight_decay=5e-4, temperature=5.0), images=20_000,
        mirrored=False),
}
SCORE_IMAGES = 4096     # images per kd-score
# row data with data impressions of the fitted set's first images, added to it: (share of the set, image priors,
# Adam steps per image; docs/METHODS.md §10 measures fewer steps teaching better)
IMPRESSIONS = {"fitted+impressions": (0.5, False, 100), "fitted+prior-impressions": (0.5, True, 100),
               "fitted+all-prior-impressions": (1.0, True, 100), "fitted+all-light-impressions": (1.0, True, 25)}
FITTED_DATA = ("fitted", "fitted+shaders", *IMPRESSIONS)  # row data made from the teacher-fitted spec
PRIORS = {"tv": 1.0, "jitter": 2}   # the image priors (docs/METHODS.md §10); row (i) has none


def run(bench: Benchmark, out: Path, seeds: list[int], rows: tuple[Row, ...] = ROWS, doc: Path | None = None,
        progress: bool = True, jobs: int = 1, train: bool = True) -> dict:
    """Run (or continue) ``bench`` in ``out``; returns the results (also ``out/results.json``).

    ``jobs``: students trained at once, each in its own process with one torch thread (small
    students on a CPU use one core each far better than two threads one model).
    ``train=False`` trains nothing: it reports the students finished so far (rows show how
    many seeds each has).
    """
    import torch

    from ..checkpoint import load_model
    from ..training import pick_device

    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    device = pick_device("auto")
    print(f"[1/4] teacher {bench.teacher_arch} on {bench.dataset} at {bench.size} px", flush=True)
    teacher_path = out / "teacher.pt"
    teacher_summary = ensure_teacher(teacher_path, bench.dataset, bench.teacher_arch, bench.size, seed=0,
                                     progress=progress, **bench.teacher)
    print(f"[2/4] shader set: {bench.images:,} images of the default mix", flush=True)
    spec, shards = ensure_shards(out / "shards", bench.size, bench.images, seed=0, progress=progress)
    sets = _ImageSets(bench, out, teacher_path, spec, shards, progress, str(device))
    teacher, tinfo = load_model(teacher_path, device)
    done = _finished(out / "results.jsonl")
    fitted_hash = sets.fitted_hash()

    def finished(row: Row, seed: int) -> dict | None:
        entry = done.get(_run_key(bench, row, seed))
        return entry if _is_current(entry, row, fitted_hash) else None

    print("[3/4] kd-scores and students", flush=True)
    # seeds outer: every row gets its first seed first
    todo = [(row, seed) for seed in seeds for row in rows if train and finished(row, seed) is None]
    tasks = [(bench, row, seed, sets.path(row.data), teacher_path, out, str(device), progress and jobs == 1)
             for row, seed in todo]
    for (row, seed), result in _map_students(tasks, jobs):
        key = _run_key(bench, row, seed)
        done[key] = {"row": row.key, "seed": seed, **result}
        if row.data in FITTED_DATA:
            done[key]["fitted_hash"] = sets.fitted["spec_hash"]
        with (out / "results.jsonl").open("a") as log:      # one whole line per finished student
            log.write(json.dumps({"key": key, **done[key]}) + "\n")
        print(f"      seed {seed}: {row.label}: test acc {100 * result['test_acc']:.2f}%", flush=True)
    # the report holds the rows asked for and every other row with finished students (another
    # invocation, e.g. --rows e,f, may have added some meanwhile)
    done = _finished(out / "results.jsonl")
    fitted_hash = sets.fitted_hash()        # a first fit may have happened above
    shown = [row for row in ROWS if row in rows or any(finished(row, s) for s in seeds)]
    scores = _kd_scores(out / "kd_scores.json", teacher, tinfo, {row.key: sets.path(row.data) for row in shown},
                        bench, device)
    results = {"benchmark": asdict(bench), "machine": _machine(torch, device), "teacher": teacher_summary,
               "spec": spec.to_dict(), "fitted": sets.fitted, "seeds": seeds, "rows": [],
               "seconds": time.perf_counter() - started}
    for row in shown:
        runs = [entry for s in seeds if (entry := finished(row, s))]
        results["rows"].append({**asdict(row), "kd_score": scores[row.key], "runs": runs})
    print("[4/4] write results", flush=True)
    atomic_write(out / "results.json", (json.dumps(results, indent=1) + "\n").encode())
    if doc is not None:
        plot = doc.parent / f"results-{bench.name}.png"
        _plot(results, tinfo.classes, plot)
        replace_section(doc, f"experiment-{bench.name}", _section(results, tinfo.classes, plot))
    return results


class _ImageSets:
    """The row data of a run folder, made on first use and kept: the real dataset's name,
    ``noise``, and the default-mix and teacher-fitted shader sets decoded into arrays."""

    def __init__(self, bench: Benchmark, out: Path, teacher_path: Path, spec, shards: str, progress: bool,
                 device: str):
        self.bench, self.out, self.teacher_path, self.progress, self.device = bench, out, teacher_path, progress, device
        self.spec, self.shards = spec, shards
        self.fitted: dict | None = None        # the fit's summary once the fitted set exists
        self._paths = {"real": bench.dataset, "noise": "noise"}

    def path(self, data: str) -> str:
        if data not in self._paths:
            if data == "fitted":
                self._paths[data] = self._fitted()
            elif data == "fitted+shaders":
                self._paths[data] = ensure_union(self.out / "union.npy", [self.path("shaders"), self.path("fitted")])
            elif data in IMPRESSIONS:
                share, with_priors, iterations = IMPRESSIONS[data]
                priors = dict(PRIORS, flip=self.bench.mirrored) if with_priors else {"tv": 0.0, "jitter": 0, "flip": False}
                count = round(self.bench.images * share)
                # a smaller set made with the same settings is this one's first images: only the rest is optimised
                smaller = [k for k, (s, p, i) in IMPRESSIONS.items() if (p, i) == (with_priors, iterations) and s < share]
                prefix = self.out / f"{smaller[-1].removeprefix('fitted+')}.npy" if smaller else None
                name = data.removeprefix("fitted+")
                print(f"      {name} of {count:,} fitted images", flush=True)
                impressions = ensure_impressions(self.out / f"{name}.npy", self.teacher_path, self.path("fitted"),
                                                 count, self.device, self.progress, prefix=prefix,
                                                 iterations=iterations, **priors)
                self._paths[data] = ensure_union(self.out / f"fitted-{name}.npy", [self.path("fitted"), impressions])
            else:
                self._paths[data] = ensure_array(self.out / "shards", self.shards, self.progress)
        return self._paths[data]

    def fitted_hash(self) -> str | None:
        """The spec hash of ``fitted.yaml`` in the run folder, ``None`` before the first fit."""
        from unnatural.generator.spec import DatasetSpec

        path = self.out / "fitted.yaml"
        return DatasetSpec.load(path).spec_hash if path.is_file() else None

    def _fitted(self) -> str:
        bench = self.bench
        print(f"      teacher-fitted spec and {bench.images:,} of its images", flush=True)
        spec, report = ensure_fitted(self.out / "fitted.yaml", self.teacher_path, bench.size, self.progress)
        _, shards = ensure_shards(self.out / "fitted-shards", bench.size, bench.images, progress=self.progress,
                                  spec=spec)
        self.fitted = {"spec_hash": spec.spec_hash, "check": report["check"], "seconds": report["timing"]["wall_s"],
                       "screen": report["screen"]}
        return ensure_array(self.out / "fitted-shards", shards, self.progress)


# Row fields added after students were first recorded: left out of run keys at these defaults,
# so the students of older entries keep their keys. ``extra`` is a removed field (always empty).
_LATER_ROW_FIELDS = {"augment": ""}
_REMOVED_ROW_FIELDS = ("extra",)


def _run_key(bench: Benchmark, row: Row, seed: int) -> str:
    """What decides a student: the benchmark's teacher and recipe, the row, the seed."""
    fields = {k: v for k, v in asdict(row).items() if _LATER_ROW_FIELDS.get(k, object()) != v}
    return json.dumps({"bench": bench.name, "teacher": bench.teacher, "recipe": asdict(bench.recipe),
                       "row": fields, "seed": seed}, sort_keys=True)


def _canonical_key(key: str) -> str:
    """A recorded run key as :func:`_run_key` writes it now (removed row fields dropped)."""
    parts = json.loads(key)
    for name in _REMOVED_ROW_FIELDS:
        parts["row"].pop(name, None)
    return json.dumps(parts, sort_keys=True)


def _is_current(entry: dict | None, row: Row, fitted_hash: str | None) -> bool:
    """Whether a finished student (a ``results.jsonl`` entry) still counts for ``row``: not if it
    learned from another fit than the run folder's ``fitted.yaml`` (hash ``fitted_hash``, ``None``
    before a fit). Entries written before students recorded the hash count as current."""
    if entry is None:
        return False
    return row.data not in FITTED_DATA or entry.get("fitted_hash", fitted_hash) == fitted_hash


def _finished(path: Path) -> dict:
    """Finished students by run key; a torn last line (killed mid-write) is ignored."""
    done = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            done[_canonical_key(entry.pop("key"))] = entry
    return done


def _score_key(data: str) -> str:
    """The kd-score cache key of a row's data: the data text, and for a file its size and mtime,
    so a set written again (e.g. the fitted set after a refit) is scored again."""
    path = Path(data)
    if not path.is_file():
        return data
    st = path.stat()
    return f"{data}|{st.st_size}|{st.st_mtime_ns}"


def _kd_scores(path: Path, teacher, tinfo, sets: dict[str, str], bench: Benchmark, device) -> dict:
    """kd-score of each row's image set (row key -> score), kept in ``path`` for reruns."""
    from ..kd import image_source, teacher_scores

    kept = json.loads(path.read_text()) if path.is_file() else {}
    scores = {}
    for key, data in sets.items():
        cache = _score_key(data)
        if cache not in kept:
            source = image_source(data, 256, seed=0, size=bench.size, num_workers=1, channels=tinfo.channels)
            kept[cache] = teacher_scores(teacher, source(), bench.size, tinfo.num_classes, device, SCORE_IMAGES,
                                         tinfo.channels)
            atomic_write(path, (json.dumps(kept, indent=1) + "\n").encode())
        scores[key] = kept[cache]
    return scores


def _map_students(tasks: list[tuple], jobs: int):
    """Yield ``((row, seed), result)`` of :func:`_student` for each task as it finishes: in this
    process for ``jobs == 1``, else in ``jobs`` spawned processes of one torch thread each."""
    if jobs == 1:
        for task in tasks:
            yield (task[1], task[2]), _student(*task)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    import torch

    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn"), initializer=torch.set_num_threads,
                             initargs=(1,)) as pool:
        futures = {pool.submit(_student, *task): (task[1], task[2]) for task in tasks}
        for future in as_completed(futures):
            yield futures[future], future.result()


def _student(bench: Benchmark, row: Row, seed: int, data: str, teacher_path: Path, out: Path, device: str,
             progress: bool) -> dict:
    """Distill one student; returns its test accuracy, per-class accuracy, curves and time."""
    from ..checkpoint import load_model
    from ..data import load_real
    from ..kd import DistillConfig, distill, image_source
    from ..training import per_class_accuracy

    r = bench.recipe
    config = DistillConfig(steps=r.steps, batch_size=r.batch_size, optimizer=r.optimizer, lr=r.lr,
                           weight_decay=r.weight_decay, warmup_steps=max(1, r.steps // 20),
                           temperature=r.temperature, augment=",".join(filter(None, (r.augment, row.augment))),
                           balance=row.balance, adversarial=row.adversarial, eval_every=max(1, r.steps // 10),
                           checkpoint_every=max(1, r.steps // 4), seed=seed)
    run_dir = out / "students" / f"{row.key}-seed{seed}"
    _, tinfo = load_model(teacher_path)
    test = load_real(bench.dataset, "test", size=bench.size)
    source = image_source(data, r.batch_size, seed=seed, size=bench.size, num_workers=1, channels=tinfo.channels)
    summary = distill(teacher_path, bench.student_arch, source, run_dir, config, eval_set=(test.x, test.y),
                      data_label=data, resume=(run_dir / "checkpoint.pt").exists(), progress=progress,
                      device=device)
    student, _ = load_model(run_dir / "student.pt", device)
    log = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    return {"test_acc": summary["test_acc"], "best_test_acc": summary["best_test_acc"],
            "per_class": per_class_accuracy(student, test.x, test.y, device, tinfo.num_classes),
            "admitted_entropy": summary.get("admitted_entropy"), "seconds": summary["seconds"],
            "curve": [(e["step"], e["test_acc"]) for e in log if "test_acc" in e],
            "loss": [(e["step"], e["loss"]) for e in log if "loss" in e]}


def _machine(torch, device) -> str:
    return f"{platform.machine()}, {torch.get_num_threads()} torch threads, {device}"


def _mean_std(values: list[float]) -> tuple[float, float]:
    import statistics

    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def _plot(results: dict, classes: list[str], path: Path) -> None:
    """Test accuracy over KD steps, mean over seeds per row, with the teacher and chance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    bench = results["benchmark"]
    fig, ax = plt.subplots(figsize=(7.5, 4.4), dpi=110)
    for row in results["rows"]:
        curves = [r["curve"] for r in row["runs"] if r["curve"]]
        if not curves:
            continue
        n = min(len(c) for c in curves)
        steps = [s for s, _ in curves[0][:n]]
        acc = 100 * np.array([[a for _, a in c[:n]] for c in curves])
        ax.plot(steps, acc.mean(0), marker="o", ms=3, label=f"{row['label']} (n={len(curves)})")
        if len(curves) > 1:
            ax.fill_between(steps, acc.min(0), acc.max(0), alpha=0.15)
    ax.axhline(100 * results["teacher"]["test_acc"], color="k", ls="--", lw=1, label="our teacher")
    for label, value in bench["published"]:
        if label.startswith("ZSKD"):
            ax.axhline(value, color="tab:red", ls=":", lw=1, label=f"{label} (published)")
    ax.axhline(100 / len(classes), color="grey", ls=":", lw=1, label="chance")
    ax.set_xlabel(f"KD step (batch {bench['recipe']['batch_size']})")
    ax.set_ylabel(f"student test accuracy on {bench['dataset']} (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    save_figure(fig, path)


def _section(results: dict, classes: list[str], plot: Path) -> str:
    """The docs/RESULTS.md section: our rows (mean ± std) beside the published ones, the sets'
    kd-scores and teacher histograms, and per-class accuracy."""
    bench, teacher, recipe = results["benchmark"], results["teacher"], results["benchmark"]["recipe"]
    real = next((r for r in results["rows"] if r["data"] == "real" and r["runs"]), None)
    real_mean = _mean_std([x["test_acc"] for x in real["runs"]])[0] if real else None
    lines = []
    for row in results["rows"]:
        accs = [x["test_acc"] for x in row["runs"]]
        if not accs:
            continue
        mean, std = _mean_std(accs)
        ratio = f"{mean / real_mean:.3f}" if real_mean else "–"
        minutes = sum(x["seconds"] for x in row["runs"]) / 60 / len(accs)
        lines.append(f"| {row['label']} | {100 * mean:.2f} ± {100 * std:.2f} | {len(accs)} | {ratio} | "
                     f"{row['kd_score']['normalized_entropy']:.3f} | {row['kd_score']['mean_max_softmax']:.3f} | "
                     f"{minutes:.1f} |")
    student_minutes = sum(x["seconds"] for row in results["rows"] for x in row["runs"]) / 60
    t = bench["teacher"]
    teacher_recipe = (f"{t['epochs']} epochs, {t['optimizer']} lr {t['lr']} (weight decay {t['weight_decay']}), "
                      f"augmentation `{t.get('augment', TEACHER_AUGMENT)}`")
    published = "\n".join(f"| {label} | {value:.2f} |" for label, value in bench["published"])
    hist = "\n".join(f"| {row['label']} | " + " | ".join(
        f"{100 * h / max(1, row['kd_score']['images']):.1f}" for h in row["kd_score"]["histogram"]) + " |"
        for row in results["rows"])
    per_class = "\n".join(f"| {row['label']} | " + " | ".join(
        f"{100 * _mean_std([x['per_class'][k] for x in row['runs']])[0]:.0f}" for k in range(len(classes))) + " |"
        for row in results["rows"] if row["runs"])
    head = " | ".join(classes)
    align = "|".join(["---:"] * len(classes))
    published_block = (f"\nPublished ({bench['source']}); test accuracy %:\n\n| method | test acc % |\n|---|---:|\n"
                       f"{published}\n") if published else ""
    return f"""## {bench['dataset']}: {bench['teacher_arch']} teacher -> {bench['student_arch']} students

`make experiment-{bench['name']}` (`python -m unnatural.distill.studies.experiment {bench['name']}`),
{results['machine']}; seeds {', '.join(map(str, results['seeds']))}; {student_minutes:.0f} min of student training in all
(wall time per student in the table, one torch thread each).
Teacher: `{bench['teacher_arch']}` at {bench['size']} px, {teacher_recipe}, best validation
checkpoint: **{100 * teacher['test_acc']:.2f}%** test accuracy. Students: `{bench['student_arch']}`,
{recipe['steps']} KD steps of batch {recipe['batch_size']}, {recipe['optimizer']} lr {recipe['lr']} (weight decay
{recipe['weight_decay']}) with warm-up + cosine, T = {recipe['temperature']}, augmentation `{recipe['augment']}`
(the same recipe for every row; a row that names a setting adds it to this augmentation). Shader set: {results['spec']['images']:,} images of the default mix
at {bench['size']} px (rendered to shards, decoded once into an array), RGB, seen by the teacher {'as BT.601 luma' if bench['dataset'] in ('fashion-mnist', 'mnist')
else 'as rendered'}.{_fitted_text(results)} kd-score: over {SCORE_IMAGES:,} images of each set before balancing.

| student data | test acc % (mean ± std) | seeds | × real-data KD | kd-score entropy | mean max-softmax | min per student |
|---|---:|---:|---:|---:|---:|---:|
{chr(10).join(lines)}
{published_block}
The teacher's argmax histogram over each set (% of images per class):

| set | {head} |
|---|{align}|
{hist}

Per-class test accuracy of the students (%, mean over seeds):

| student data | {head} |
|---|{align}|
{per_class}

![test accuracy over KD steps]({plot.name})
"""


def _fitted_text(results: dict) -> str:
    """The fitted set's line of the section (empty without fitted rows)."""
    fitted = results.get("fitted")
    if not fitted:
        return ""
    check = fitted["check"]
    unreached = ", ".join(c["name"] for c in check["unreached"]) or "none"
    return (f"\nFitted set: the same number of images of the teacher-fitted spec (`unnatural fit`, default "
            f"budget, seed 0; {fitted['seconds'] / 60:.1f} min), whose fit check saw normalized entropy "
            f"{check['normalized_entropy']:.3f} (the default mix in the fit's screen: "
            f"{fitted['screen']['normalized_entropy']:.3f}), at least {check['min_programs']} distinct programs per "
            f"class, unreached classes: {unreached}; no rejection at training time.")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m unnatural.distill.studies.experiment",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("benchmark", choices=sorted(BENCHMARKS), help="fashion (Fashion-MNIST, LeNet-5) or digits")
    ap.add_argument("--out", type=Path, help="run folder (default runs/BENCHMARK; resumes what it finds)")
    ap.add_argument("--seeds", default="0-2", help="student seeds, A-B or a comma list (default 0-2)")
    ap.add_argument("--rows", default=",".join(r.key for r in ROWS),
                    help=f"rows to run, a comma list of {', '.join(r.key for r in ROWS)} (default all)")
    ap.add_argument("--steps", type=int, help="KD steps per student (default: the benchmark's recipe)")
    ap.add_argument("--doc", type=Path, default=Path("docs/RESULTS.md"), help="results document to update")
    ap.add_argument("--jobs", type=int, default=2, help="students trained at once, one process and core each "
                                                         "(default 2)")
    ap.add_argument("--report", action="store_true", help="train nothing: write the results and the doc section "
                                                          "from the students finished so far")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    bench = BENCHMARKS[args.benchmark]
    try:
        seeds = parse_seeds(args.seeds)
        keys = [k.strip() for k in args.rows.split(",") if k.strip()]
        rows = tuple(r for r in ROWS if r.key in keys)
        if not rows or len(rows) != len(set(keys)):
            raise ValueError(f"rows {args.rows!r}: allowed a comma list of {', '.join(r.key for r in ROWS)}")
        if args.steps is not None:
            if args.steps < 1:
                raise ValueError(f"--steps {args.steps} is invalid: allowed integers >= 1")
            bench = Benchmark(**{**asdict(bench), "recipe": Recipe(**{**asdict(bench.recipe), "steps": args.steps})})
    except ValueError as exc:
        ap.error(str(exc))
    if args.jobs < 1:
        ap.error(f"--jobs {args.jobs} is invalid: allowed integers >= 1")
    results = run(bench, args.out or Path("runs") / bench.name, seeds, rows, args.doc, progress=not args.no_progress,
                  jobs=args.jobs, train=not args.report)
    for row in results["rows"]:
        accs = [x["test_acc"] for x in row["runs"]]
        if accs:
            mean, std = _mean_std(accs)
            print(f"{row['label']:<58} test acc {100 * mean:5.2f} ± {100 * std:4.2f}%  "
                  f"kd-score {row['kd_score']['normalized_entropy']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
