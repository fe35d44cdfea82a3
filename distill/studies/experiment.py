"""The end-to-end digits experiment (``make experiment-digits``), on CPU in well under 30 minutes.

1. Train a teacher on scikit-learn's digits (real, offline), 16x16.
2. Render shader shards of the default mix at 16x16 (``unnatural render``'s job).
3. Distill the same student architecture from (a) the real digits training images, (b) the
   shader shards, (b') the same spec through a live server's virtual shards, (c) Gaussian
   noise, (d) the shader shards with teacher class balancing and boundary samples; evaluate
   each on the held-out digits test split.
4. kd-score each set (the teacher's normalized argmax entropy and mean max-softmax).
5. Write the table into ``docs/RESULTS.md`` (between markers, so reruns replace it), the raw
   numbers into ``OUT/results.json`` and a plot of test accuracy over steps (PNG).

Rerunning continues: the teacher, the shards and finished students are kept, and an
interrupted student resumes from its checkpoint.

usage: python -m unnatural.distill.studies.experiment [--out runs/digits] [--steps 1000] [--seed 0]
       [--images 20000] [--doc docs/RESULTS.md]
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import asdict
from pathlib import Path

import torch

from unnatural.generator.files import atomic_write

from .report import replace_section, save_figure
from .workspace import SYNTHETIC_AUGMENT

SIZE = 16
AUGMENT = SYNTHETIC_AUGMENT   # pad-crop and elastic scale to 16 px inside the augmenter
DOC_KEY = "experiment-digits"   # docs/RESULTS.md section markers


def _sets(shards: str, url: str) -> list[dict]:
    return [
        {"key": "a", "label": "(a) real digits train images", "data": "digits", "augment": AUGMENT},
        {"key": "b", "label": "(b) shader images, offline shards", "data": shards, "augment": AUGMENT},
        {"key": "b'", "label": "(b') shader images, server virtual shards", "data": url, "augment": AUGMENT},
        {"key": "c", "label": "(c) Gaussian noise", "data": "noise", "augment": AUGMENT},
        {"key": "d", "label": "(d) shader shards + class balancing + boundary samples", "data": shards,
         "augment": AUGMENT, "balance": True, "adversarial": 0.25},
    ]


def run(out: Path, steps: int, seed: int, doc: Path, arch: str = "resnet8", images: int = 20_000) -> dict:
    """Run the whole experiment; returns the results dict (also in ``out/results.json``)."""
    from unnatural.server.process import ServerProcess

    from ..checkpoint import load_model
    from ..data import load_real
    from ..kd import DistillConfig, distill, image_source, teacher_scores
    from ..training import pick_device
    from .workspace import ensure_shards, ensure_teacher

    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    device = pick_device("auto")
    teacher_path = out / "teacher.pt"
    print(f"[1/4] teacher: {arch} on digits {SIZE}x{SIZE}", flush=True)
    teacher_summary = ensure_teacher(teacher_path, "digits", arch, SIZE, seed=seed)
    print(f"[2/4] render {images:,} shader images", flush=True)
    spec, shards = ensure_shards(out / "shards", SIZE, images, seed)
    test = load_real("digits", "test", size=SIZE)
    teacher, info = load_model(teacher_path, device)
    config_file = out / "server.json"
    atomic_write(config_file, json.dumps({"datasets": [spec.to_dict()]}).encode())
    results = {"machine": f"{platform.node()} {platform.machine()}, {torch.get_num_threads()} torch threads, {device}",
               "seed": seed, "steps": steps, "student": arch, "teacher": {**teacher_summary, "arch": arch},
               "spec": spec.to_dict(), "sets": []}
    with ServerProcess(["--workers", "1", "--config", str(config_file)], out / "server.log") as server:
        url = server.client.get("/datasets/shaders").json()["url_template"]
        for i, s in enumerate(_sets(shards, url)):
            print(f"[3/4] student {i + 1}/5: {s['label']}", flush=True)
            source = image_source(s["data"], 128, seed=seed, size=SIZE, num_workers=1)
            score = teacher_scores(teacher, source(), SIZE, info.num_classes, device, 4096)
            config = DistillConfig(steps=steps, batch_size=128, lr=0.05, warmup_steps=steps // 20,
                                   eval_every=max(1, steps // 10), checkpoint_every=max(1, steps // 4), seed=seed,
                                   augment=s["augment"], balance=s.get("balance", False),
                                   adversarial=s.get("adversarial", 0.0))
            run_dir = out / f"student-{s['key'].replace(chr(39), 'p')}"
            done = run_dir / "summary.json"
            if done.is_file() and json.loads(done.read_text())["config"] == asdict(config):
                summary = json.loads(done.read_text())           # finished in an earlier run
            else:
                summary = distill(teacher_path, arch, source, run_dir, config, eval_set=(test.x, test.y),
                                  data_label=s["data"], resume=(run_dir / "checkpoint.pt").exists())
            log = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
            results["sets"].append({**s, "kd_score": score, "test_acc": summary["test_acc"],
                                    "best_test_acc": summary["best_test_acc"], "seconds": summary["seconds"],
                                    "admitted_entropy": summary.get("admitted_entropy"),
                                    "curve": [(e["step"], e["test_acc"]) for e in log if "test_acc" in e]})
    results["seconds"] = time.perf_counter() - started
    print("[4/4] write results", flush=True)
    atomic_write(out / "results.json", (json.dumps(results, indent=1) + "\n").encode())
    plot = doc.parent / "results-digits.png"
    _plot(results, plot)
    _write_doc(results, doc, plot)
    return results


def _plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for s in results["sets"]:
        steps, acc = zip(*s["curve"]) if s["curve"] else ((), ())
        ax.plot(steps, [100 * a for a in acc], marker="o", ms=3, label=s["label"])
    ax.axhline(100 * results["teacher"]["test_acc"], color="k", ls="--", lw=1, label="teacher")
    ax.axhline(10, color="grey", ls=":", lw=1, label="chance")
    ax.set_xlabel("KD step (batch 128)")
    ax.set_ylabel("student test accuracy on digits (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    save_figure(fig, path)


def _write_doc(results: dict, doc: Path, plot: Path) -> None:
    t = results["teacher"]
    rows = "\n".join(
        f"| {s['label']} | {100 * s['test_acc']:.1f} | {100 * s['best_test_acc']:.1f} | "
        f"{s['kd_score']['normalized_entropy']:.3f} | {s['kd_score']['mean_max_softmax']:.3f} | "
        f"{'' if s['admitted_entropy'] is None else format(s['admitted_entropy'], '.3f')} | {s['seconds'] / 60:.1f} |"
        for s in results["sets"])
    section = f"""## Digits: teacher -> student from real, shader, streamed and noise images

`make experiment-digits` (`python -m unnatural.distill.studies.experiment`), {results['machine']}; seed {results['seed']}.
Training time: teacher {t['seconds'] / 60:.1f} min, students {sum(s['seconds'] for s in results['sets']) / 60:.1f} min
(plus ~10 s to render the shards and ~1 min of kd-scores and server start). Teacher and students: `{results['student']}` at 16x16 px on
scikit-learn's digits (1,797 real 8x8 images, fixed stratified 60/20/20 split; test = 360
images). Teacher: supervised, 30 epochs, best validation checkpoint: **{100 * t['test_acc']:.1f}%** test
accuracy (validation {100 * t['best_val_acc']:.1f}%). Each student: {results['steps']} KD steps of batch 128, SGD lr
0.05 with warm-up + cosine, T = 5, the synthetic-data augmentation recipe (RandAugment 4 ops
m14, colour jitter 0.4, elastic, invert, flip, mixup Beta(1,1)) with the pad-crop scaled to
2..6 px for 16 px images. Shader set: spec seed
{results['seed']}, {results['spec']['images']:,} images of the default mix (26 families + 64 composed programs)
at 16x16 npy. kd-score: the teacher's normalized argmax entropy H(p)/log 10 and mean
max-softmax over 4,096 images of the set (before balancing; for (d) the admitted set's entropy
is given too).

| student data | final test acc % | best test acc % | kd-score entropy | mean max-softmax | admitted entropy | minutes |
|---|---:|---:|---:|---:|---:|---:|
{rows}

![test accuracy over KD steps]({plot.name})
"""
    replace_section(doc, DOC_KEY, section)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m unnatural.distill.studies.experiment",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("runs/digits"), help="run folder (resumes what it finds)")
    ap.add_argument("--steps", type=int, default=1000, help="KD steps per student (default 1000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--images", type=int, default=20_000, help="shader images to render (default 20000)")
    ap.add_argument("--doc", type=Path, default=Path("docs/RESULTS.md"))
    args = ap.parse_args(argv)
    results = run(args.out, args.steps, args.seed, args.doc, images=args.images)
    for s in results["sets"]:
        print(f"{s['label']:<58} test acc {100 * s['test_acc']:5.1f}%  kd-score {s['kd_score']['normalized_entropy']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
