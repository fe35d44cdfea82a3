"""The batch-norm study (``unnatural study bn``): standard vs revisited batch norm (Davis & Frank,
ECCV 2022; docs/METHODS.md §4) and its ablations, trained on the same seeds, for supervised teachers
and for KD students on shader images; mean ± std per variant and one-sided paired t-tests
across seeds, as in the paper's protocol.

A run folder holds ``study.json`` (the settings; a rerun must match them), ``results.jsonl``
(one line per finished (variant, seed): reruns skip those, so an interrupted study resumes),
``runs/`` (each model), ``report.md`` and ``bn-{setting}.png``.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from unnatural.generator.files import atomic_write

from ..bn import VARIANTS, variant
from .report import box_strip_plot, compare_to_baseline, comparison_table, replace_section
from .workspace import SYNTHETIC_AUGMENT, TEACHER_AUGMENT, ensure_shards, ensure_teacher

RESULTS, SETTINGS, REPORT = "results.jsonl", "study.json", "report.md"


@dataclass
class BNStudy:
    """Settings of one study run (see ``unnatural study bn --help`` for each field's meaning).

    Raises:
        ValueError: an unknown setting or variant, no seeds, or ``baseline`` missing from
            ``variants`` (every test is against it).
    """

    setting: str                       # teacher | kd
    dataset: str = "digits"
    arch: str = "resnet8"
    seeds: list[int] = field(default_factory=lambda: list(range(1, 16)))
    variants: list[str] = field(default_factory=lambda: list(VARIANTS))
    size: int = 16
    batch_size: int = 128
    lr: float = 0.05
    epochs: int = 30                   # teacher setting
    steps: int = 500                   # kd setting
    teacher: str | None = None         # kd: teacher model file (default: train one, baseline BN, seed 0)
    data: str | None = None            # kd: shader shards/URLs (default: render 20,000 images)
    images: int = 20_000

    def __post_init__(self) -> None:
        if self.setting not in ("teacher", "kd"):
            raise ValueError(f"setting {self.setting!r} is unknown: allowed teacher, kd")
        for name in self.variants:
            variant(name)
        if "baseline" not in self.variants:
            raise ValueError(f"variants {','.join(self.variants)} lack 'baseline': every test is against it")
        if not self.seeds:
            raise ValueError("no seeds: give at least one (e.g. --seeds 1-15)")


def parse_seeds(text: str) -> list[int]:
    """``"1-15"``, ``"0,3,7"`` or a mix (``"1-3,9"``) -> sorted unique seeds.

    Raises:
        ValueError: an empty, negative, reversed or non-integer item.
    """
    seeds: set[int] = set()
    for item in text.split(","):
        lo, sep, hi = item.strip().partition("-")
        try:
            a, b = int(lo), int(hi) if sep else int(lo)
        except ValueError:
            raise ValueError(f"seeds {text!r}: {item!r} is not N or A-B with integers >= 0") from None
        if a < 0 or b < a:
            raise ValueError(f"seeds {text!r}: {item!r} must be N or A-B with 0 <= A <= B")
        seeds.update(range(a, b + 1))
    return sorted(seeds)


def _read_results(out: Path) -> list[dict]:
    path = out / RESULTS
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:     # a line cut by a kill: that run is redone
            continue
    return rows


def _prepare(study: BNStudy, out: Path, progress: bool) -> dict:
    """kd setting: the teacher, the shader data and the real test split (made once per folder)."""
    from ..data import load_real

    teacher = study.teacher
    if teacher is None:
        teacher = str(out / "teacher.pt")
        ensure_teacher(teacher, study.dataset, study.arch, study.size, epochs=study.epochs,
                       batch_size=study.batch_size, lr=study.lr, progress=progress)
    data = study.data or ensure_shards(out / "shards", study.size, study.images, progress=progress)[1]
    return {"teacher": teacher, "data": data, "test": load_real(study.dataset, "test", size=study.size)}


def _run_one(study: BNStudy, name: str, seed: int, out: Path, kd: dict | None, progress: bool) -> dict:
    from ..kd import DistillConfig, distill, image_source
    from ..training import train_teacher

    bn = variant(name)
    if study.setting == "teacher":
        summary = train_teacher(study.dataset, study.arch, out / "runs" / f"{name}-seed{seed}.pt", epochs=study.epochs,
                                batch_size=study.batch_size, lr=study.lr, size=study.size,
                                augment=TEACHER_AUGMENT, seed=seed, progress=progress,
                                bn=bn)
        return {"test_acc": summary["test_acc"], "best_val_acc": summary["best_val_acc"], "seconds": summary["seconds"]}
    config = DistillConfig(steps=study.steps, batch_size=study.batch_size, lr=study.lr,
                           warmup_steps=max(1, study.steps // 20), eval_every=study.steps,
                           checkpoint_every=study.steps, seed=seed, augment=SYNTHETIC_AUGMENT)
    source = image_source(kd["data"], study.batch_size, seed=seed, size=study.size, num_workers=1,
                          channels=kd["test"].channels)
    summary = distill(kd["teacher"], study.arch, source, out / "runs" / f"kd-{name}-seed{seed}", config,
                      eval_set=(kd["test"].x, kd["test"].y), progress=progress, data_label=kd["data"], bn=bn)
    return {"test_acc": summary["test_acc"], "seconds": summary["seconds"]}


def run_study(study: BNStudy, out: str | Path, progress: bool = True, doc: str | Path | None = None) -> dict:
    """Train every (variant, seed) not yet in ``out/results.jsonl``, then write the report.

    Seeds are the outer loop, so a study stopped early still has paired results for every
    variant on the seeds it finished.

    Returns:
        ``{"rows": compare_to_baseline rows, "report": markdown, "plot": path}``.

    Raises:
        ValueError: ``out`` holds a study with different settings.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    settings = asdict(study)
    if (out / SETTINGS).exists():
        old = json.loads((out / SETTINGS).read_text())
        fixed = {k: v for k, v in old.items() if k not in ("seeds", "variants")}   # more seeds/variants may be added
        if fixed != {k: v for k, v in settings.items() if k not in ("seeds", "variants")}:
            raise ValueError(f"{out} holds a study with other settings ({out / SETTINGS}); use another --out")
    atomic_write(out / SETTINGS, (json.dumps(settings, indent=1) + "\n").encode())
    done = {(r["variant"], r["seed"]) for r in _read_results(out)}
    todo = [(seed, name) for seed in study.seeds for name in study.variants if (name, seed) not in done]
    kd = _prepare(study, out, progress) if study.setting == "kd" and todo else None
    started = time.perf_counter()
    for i, (seed, name) in enumerate(todo):
        print(f"[{i + 1}/{len(todo)}] {study.setting} {study.arch} {name} seed {seed}", flush=True)
        row = {"variant": name, "seed": seed, **_run_one(study, name, seed, out, kd, progress)}
        with (out / RESULTS).open("a") as f:
            f.write(json.dumps(row) + "\n")
    return write_report(study, out, doc, time.perf_counter() - started)


def write_report(study: BNStudy, out: Path, doc: str | Path | None = None, seconds: float | None = None) -> dict:
    """Summarize ``out/results.jsonl`` into ``report.md`` + a box/strip plot (and a section of
    ``doc`` when given)."""
    results = [r for r in _read_results(out) if r["variant"] in study.variants and r["seed"] in study.seeds]
    scores = {name: {r["seed"]: r["test_acc"] for r in results if r["variant"] == name} for name in study.variants}
    rows = compare_to_baseline(scores)
    plot = out / f"bn-{study.setting}.png"
    what = "supervised teachers" if study.setting == "teacher" else "KD students on shader images"
    box_strip_plot({r["variant"]: r["scores"] for r in rows}, plot, f"test accuracy on {study.dataset} (%)",
                   f"{study.arch}, {what}, {len(study.seeds)} seeds")
    minutes = sum(r.get("seconds", 0) for r in results) / 60
    budget = f"{study.epochs} epochs" if study.setting == "teacher" else f"{study.steps} KD steps"
    report = (f"{study.arch} on {study.dataset} at {study.size} px, {what}, {budget} of batch {study.batch_size}, "
              f"SGD lr {study.lr} with warm-up + cosine; seeds {','.join(map(str, study.seeds))}; "
              f"{minutes:.1f} min of training.\n\n{comparison_table(rows)}\n")
    atomic_write(out / REPORT, report.encode())
    if doc is not None:
        Path(doc).parent.mkdir(parents=True, exist_ok=True)
        name = f"bn-{study.setting}-{study.dataset.split(':')[0]}"     # one section per setting and dataset
        image = Path(doc).parent / f"{name}.png"
        atomic_write(image, plot.read_bytes())
        replace_section(doc, f"study-{name}",
                        f"### Batch norm, {what}\n\n`unnatural study bn --setting {study.setting}`: {report}\n"
                        f"![{study.setting} accuracy per variant]({image.name})\n")
    return {"rows": rows, "report": report, "plot": plot, "seconds": seconds}
