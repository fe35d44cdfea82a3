"""Inputs the experiment and the studies share, made once per run folder and kept for reruns:
a teacher trained on a real dataset and a shader-image shard set at the teacher's input size."""
from __future__ import annotations

import json
from pathlib import Path


def ensure_teacher(path: str | Path, dataset: str, arch: str, size: int, *, epochs: int = 30,
                   batch_size: int = 128, lr: float = 0.05, seed: int = 0, progress: bool = True,
                   optimizer: str = "sgd", weight_decay: float = 5e-4, augment: str | None = None) -> dict:
    """Train a teacher (standard BN; ``augment`` default :data:`TEACHER_AUGMENT`) into ``path``
    unless its summary (``path`` with ``.json``) exists; returns the summary. A rerun keeps the
    teacher its students were distilled from."""
    from ..training import train_teacher

    path = Path(path)
    if path.with_suffix(".json").is_file() and path.is_file():
        return json.loads(path.with_suffix(".json").read_text())
    return train_teacher(dataset, arch, path, epochs=epochs, batch_size=batch_size, lr=lr, size=size,
                         optimizer=optimizer, weight_decay=weight_decay, augment=augment or TEACHER_AUGMENT,
                         seed=seed, progress=progress)


def ensure_shards(folder: str | Path, size: int, images: int = 20_000, seed: int = 0, progress: bool = True,
                  spec=None):
    """Render ``images`` shader images at ``size`` px (npy, 1,000 per shard) into ``folder``
    (resuming a partial render): the default mix, or ``spec`` (a :class:`DatasetSpec`, e.g. a
    teacher-fitted one; its name, size, count, shard size and format are replaced). Returns
    ``(spec, brace pattern of the shards)``."""
    from unnatural.generator.job import render_dataset
    from unnatural.generator.spec import DatasetSpec

    spec = (spec or DatasetSpec(seed=seed)).replace(name="shaders", width=size, height=size, images=images,
                                                    images_per_shard=1000, format="npy")
    folder = Path(folder)
    render_dataset(spec, folder, resume=(folder / "manifest.json").exists(), progress=progress)
    return spec, str(folder / f"shaders-{{000000..{spec.num_shards - 1:06d}}}.tar")


def ensure_array(folder: str | Path, shards: str, progress: bool = True) -> str:
    """``folder/shaders.npy``: the shard set decoded once (:func:`unnatural.distill.data.decode_shards`),
    so that every student reads memory; returns its path."""
    from ..data import decode_shards

    path = Path(folder) / "shaders.npy"
    if not path.is_file():
        decode_shards(shards, path, progress=progress)
    return str(path)


def ensure_union(path: str | Path, arrays: list[str]) -> str:
    """``path``: the ``.npy`` image arrays ``arrays`` (same image shape) concatenated in order,
    written once (temporary name, then renamed); returns its path.

    Raises:
        ValueError: the arrays hold images of different shapes (the message names both).
    """
    import numpy as np

    from unnatural.generator.files import atomic_open

    path = Path(path)
    if not path.is_file():
        parts = [np.load(a, mmap_mode="r") for a in arrays]
        for a, part in zip(arrays[1:], parts[1:]):
            if part.shape[1:] != parts[0].shape[1:]:
                raise ValueError(f"{a!r} holds images of shape {part.shape[1:]}, {arrays[0]!r} {parts[0].shape[1:]}: "
                                 "allowed arrays of one image shape")
        with atomic_open(path) as f:
            np.save(f, np.concatenate(parts))
    return str(path)


def ensure_impressions(path: str | Path, teacher: str | Path, start: str, count: int, device: str = "auto",
                       progress: bool = True, prefix: str | Path | None = None, **priors) -> str:
    """``path``: data impressions (:func:`unnatural.distill.impressions.impressions_array`, seed 0,
    the defaults but ``priors``: ``tv``, ``jitter``, ``flip``, ``iterations``) of the first ``count`` images of the
    array ``start`` against ``teacher``, written once (temporary name, then renamed); returns its
    path. ``prefix``, when that file exists, holds the impressions of fewer first images made with
    the same settings: they are kept and only the rest are optimised (an image's impression
    depends on its index, not on the count). An interrupted run resumes from its finished parts
    (:func:`unnatural.distill.impressions.impressions_file`). Like the other sets here it is not
    remade when its inputs change: delete it after a refit."""
    import numpy as np

    from unnatural.generator.files import sha256_file

    from ..checkpoint import load_model
    from ..impressions import impressions_file
    from ..training import pick_device

    path = Path(path)
    if not path.is_file():
        dev = pick_device(device)
        model, info = load_model(teacher, dev)
        done = np.load(prefix, mmap_mode="r") if prefix is not None and Path(prefix).is_file() else None
        first = len(done) if done is not None and len(done) < count else 0
        images = np.load(start, mmap_mode="r")[first:count]
        impressions_file(path, model, images, info.input_size, info.channels, dev,
                         inputs={"teacher": sha256_file(teacher), "start": str(start), "prefix": str(prefix)},
                         head=done if first else None, first=first, progress=progress, **priors)
    return str(path)


def ensure_fitted(path: str | Path, teacher: str | Path, size: int, progress: bool = True) -> tuple:
    """The teacher-fitted spec in ``path`` (``unnatural fit`` with its defaults, seed 0: the
    default base spec at the teacher's input size, which must be ``size`` px), fitted unless it
    exists; returns ``(spec, fit report)``."""
    from unnatural.generator.spec import DatasetSpec

    from ..fit import FitConfig, fit, report_path, write_fit

    path = Path(path)
    if not (path.is_file() and report_path(path).is_file()):
        write_fit(fit(teacher, None, FitConfig(seed=0), progress=progress), path)
    spec = DatasetSpec.load(path)
    if spec.width != size:
        raise ValueError(f"the fitted spec {str(path)!r} is {spec.width} px: allowed a teacher of the benchmark's {size} px")
    return spec, json.loads(report_path(path).read_text())


# Augmentation strings of the runs. Pixel magnitudes are set for 32 px and scale with the
# image side inside the augmenter (AugmentConfig.ref_size), so one string serves every size.
TEACHER_AUGMENT = "off,crop=pad,pad=4"   # supervised teachers: pad-crop only
SYNTHETIC_AUGMENT = "synthetic"          # docs/METHODS.md §1's recipe for synthetic images
