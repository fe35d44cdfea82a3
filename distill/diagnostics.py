"""What a teacher makes of a shader set, program by program: the diagnostics behind
``unnatural kd-score`` for shards and server URLs.

The kd-score (:func:`unnatural.distill.kd.teacher_scores`: the normalized entropy of the
teacher's argmax histogram and the mean max-softmax, criterion (a) of Frank & Davis,
arXiv:2411.12817, docs/METHODS.md §1) says whether a set is balanced; it does not say why not.
Shards carry each sample's program in its ``json`` member, so here the teacher's argmax is
counted per (class, program): each class's share, how many distinct programs feed it, and a
class-by-program heat map. A class fed by one or two programs is balanced at the cost of
diversity (docs/METHODS.md §10).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

# a program counts for a class when it makes at least this share of the class's images (and at
# least one): one stray image is not diversity
PROGRAM_SHARE = 0.01


def shard_diagnostics(teacher: nn.Module, urls: str | list[str], size: int, num_classes: int, device: torch.device,
                      max_images: int, channels: int = 3, token: str | None = None, batch_size: int = 256) -> dict:
    """Teacher argmax counts per (class, program) over the first ``max_images`` samples of a
    shard set, in shard order.

    Args:
        teacher: ``(N, C, size, size)`` [0, 1] float -> ``(N, K)`` logits, eval mode.
        urls: shard files, brace pattern, folder or server URLs (:func:`unnatural.distill.data.shard_urls`).
        size, channels: the teacher's input side (pixels) and channels (images pass through
            :func:`unnatural.distill.kd.as_float_images`).
        num_classes: K.
        max_images: stop after this many samples (>= 1).

    Returns:
        ``images``; ``mean_max_softmax``; ``programs`` (program ids, in order of first appearance); ``counts``
        (``K x P`` list of ints: samples of program p the teacher assigns to class k);
        ``fitted_counts`` (``K x K``: row = the class a fitted spec drew the sample for, column =
        the teacher's argmax; ``None`` when the samples carry no ``fitted_class``).

    Raises:
        ValueError: no shard matches, or a sample without an image or ``json`` member.
    """
    import webdataset as wds

    from .data import SHARD_IMAGE_FIELDS, _image_tensor, shard_urls
    from .kd import as_float_images

    if max_images < 1:
        raise ValueError(f"max_images {max_images} is invalid: allowed >= 1")
    ds = wds.WebDataset(shard_urls(urls, token), shardshuffle=False, empty_check=False).decode(
        "rgb8", only=SHARD_IMAGE_FIELDS)
    programs: dict[str, int] = {}
    pairs: list[tuple[int, int]] = []      # (teacher argmax, program column) per sample
    fitted: list[int] = []
    images, ids, confidence = [], [], [0.0]

    def flush() -> None:
        with torch.no_grad():
            prob = teacher(as_float_images(torch.stack(images), device, size, channels)).softmax(1)
        conf, pred = prob.max(1)
        confidence[0] += float(conf.sum())
        pairs.extend(zip(pred.tolist(), ids))
        images.clear(), ids.clear()

    for n, sample in enumerate(ds):
        if n >= max_images:
            break
        if "json" not in sample:
            raise ValueError(f"sample {sample['__key__']} of {sample.get('__url__')} has no json member: "
                             "program diagnostics need shards written by unnatural")
        meta = json.loads(sample["json"])
        images.append(_image_tensor(sample))
        ids.append(programs.setdefault(meta["program_id"], len(programs)))
        if "fitted_class" in meta:
            fitted.append(int(meta["fitted_class"]))
        if len(images) == batch_size:
            flush()
    if images:
        flush()
    counts = np.zeros((num_classes, len(programs)), dtype=np.int64)
    for k, p in pairs:
        counts[k, p] += 1
    fitted_counts = None
    if fitted and len(fitted) == len(pairs):
        fitted_counts = np.zeros((num_classes, num_classes), dtype=np.int64)
        for target, (k, _) in zip(fitted, pairs):
            if 0 <= target < num_classes:
                fitted_counts[target, k] += 1
    return {"images": len(pairs), "mean_max_softmax": confidence[0] / max(1, len(pairs)),
            "programs": list(programs), "counts": counts.tolist(),
            "fitted_counts": None if fitted_counts is None else fitted_counts.tolist()}


def programs_per_class(counts: np.ndarray, min_share: float = PROGRAM_SHARE) -> list[int]:
    """Distinct programs feeding each class: programs that make at least ``min_share`` of the
    class's images (and at least one image). ``counts``: ``(K, P)`` ints -> K ints."""
    counts = np.asarray(counts)
    totals = counts.sum(1, keepdims=True)
    return ((counts > 0) & (counts >= min_share * totals)).sum(1).tolist()


def class_shares(histogram: list[int], classes: list[str]) -> dict[str, float]:
    """Each class's share of a set (class name -> share in [0, 1], 4 decimals) from the
    teacher's argmax ``histogram`` (K counts)."""
    total = max(1, sum(histogram))
    return {name: round(count / total, 4) for name, count in zip(classes, histogram)}


def report(diag: dict, classes: list[str]) -> dict:
    """The kd-score of a shard set from :func:`shard_diagnostics` (the keys of
    :func:`unnatural.distill.kd.teacher_scores`: ``images``, ``normalized_entropy``,
    ``mean_max_softmax``, ``histogram``) plus ``class_share``, ``programs_per_class`` (distinct
    programs feeding each class, :func:`programs_per_class`) and ``programs`` (distinct programs
    in the set), keyed by class name."""
    from .balance import normalized_entropy

    counts = np.asarray(diag["counts"], dtype=np.int64).reshape(len(classes), -1)
    histogram = counts.sum(1).tolist()
    return {"images": diag["images"], "normalized_entropy": normalized_entropy(torch.tensor(histogram)),
            "mean_max_softmax": diag["mean_max_softmax"], "histogram": histogram,
            "class_share": class_shares(histogram, classes),
            "programs_per_class": dict(zip(classes, programs_per_class(counts))),
            "programs": len(diag["programs"])}


def plot_heatmap(diag: dict, classes: list[str], path: str | Path, title: str = "") -> Path:
    """Draw the class-by-program heat map to ``path`` (PNG, written atomically): cell (k, p) is
    the share of class k's images made by program p (rows sum to 1; log colour scale), columns
    sorted by the class they feed most, so a class fed by few programs shows as a short run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    from unnatural.generator.files import save_figure

    counts = np.asarray(diag["counts"], dtype=np.float64)
    if counts.size == 0:
        raise ValueError("no samples to draw")
    rows = counts / np.maximum(1, counts.sum(1, keepdims=True))
    order = np.lexsort((-rows.max(0), rows.argmax(0)))
    rows = rows[:, order]
    fig, ax = plt.subplots(figsize=(min(16, 4 + 0.08 * rows.shape[1]), 1.2 + 0.35 * len(classes)), dpi=110)
    shown = np.where(rows > 0, rows, np.nan)
    image = ax.imshow(shown, aspect="auto", interpolation="nearest", cmap="viridis", norm=LogNorm(1e-3, 1))
    per_class = programs_per_class(counts)
    ax.set_yticks(range(len(classes)), [f"{name} ({n})" for name, n in zip(classes, per_class)], fontsize=7)
    ax.set_xlabel(f"program ({rows.shape[1]}, sorted by the class each feeds most)")
    ax.set_title(title or "share of each class's images by program (distinct programs in brackets)", fontsize=9)
    fig.colorbar(image, ax=ax, label="share of the class's images")
    fig.tight_layout()
    return save_figure(fig, path)
