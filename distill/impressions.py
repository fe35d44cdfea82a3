"""Data impressions: images optimised so that the teacher's softened output matches sampled soft labels.

Nayak et al., "Zero-Shot Knowledge Distillation in Deep Networks" (ZSKD, ICML 2019,
arXiv:1905.08114; docs/METHODS.md §8 and §10):
- the class similarity matrix comes from the teacher's last layer: the cosine similarity of its
  class weight vectors, min-max normalised per row (ZSKD §3.1);
- a target for class k is a Dirichlet draw with concentration ``beta * C[k]``; half the targets
  use beta = 1 (spread) and half beta = 0.1 (peaked), as ZSKD does;
- each image is optimised (Adam) to minimise the cross-entropy between the target and the
  teacher's softmax at temperature 20, its pixels kept in [0, 1].

ZSKD starts from uniform noise and runs 1,500 iterations. Here the start is a set of shader
images (e.g. a teacher-fitted set, :mod:`unnatural.distill.fit`), so a hundred iterations reach
the targets.

Two image priors from DeepInversion (Yin et al., "Dreaming to Distill", CVPR 2020,
arXiv:1912.08795, §3.2 and its implementation details) keep the pixels from turning into the
teacher's high-frequency noise: a total-variation penalty, and a random shift (up to ``jitter``
pixels, wrapping) and horizontal flip of each image at every step, so the image must carry its
class wherever the teacher looks. docs/METHODS.md §10 measures them.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

BETAS = (1.0, 0.1)          # Dirichlet scales, alternating over the images (ZSKD §3.2)
MIN_CONCENTRATION = 1e-3    # a Dirichlet needs every concentration > 0; C's row minimum is 0
PART = 1024                 # images per part file of a resumable set (~16 s each on 2 CPU cores)
_MASK = (1 << 31) - 1       # the jitter hash works on 31 bits: its products stay inside int64


def class_similarity(teacher: nn.Module) -> torch.Tensor:
    """``(K, K)`` float32 class similarity in [0, 1] from the teacher's classifier layer (ZSKD §3.1):
    cosine similarity of the class weight vectors, min-max normalised per row. The classifier is
    the last 2-d ``weight`` parameter, which also finds it in TorchScript teachers.

    Raises:
        ValueError: the teacher has no 2-d weight (no linear layer).
    """
    weights = [p for name, p in teacher.named_parameters() if name.endswith("weight") and p.ndim == 2]
    if not weights:
        raise ValueError("the teacher has no linear layer (2-d weight): its class similarity is read from the last one")
    w = F.normalize(weights[-1].detach().float().cpu(), dim=1)
    sim = w @ w.T
    low, high = sim.min(1, keepdim=True).values, sim.max(1, keepdim=True).values
    return (sim - low) / (high - low).clamp_min(1e-12)


def soft_targets(similarity: torch.Tensor, count: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` Dirichlet soft labels: image ``i`` targets class ``i mod K`` with concentration
    ``beta * similarity[k]``, beta alternating over :data:`BETAS`.

    Returns:
        ``(targets (count, K) float32 rows summing to 1, classes (count,) int64)``.
    """
    k = similarity.shape[0]
    classes = torch.arange(count) % k
    beta = torch.tensor(BETAS)[torch.arange(count) % len(BETAS)]
    concentration = (beta[:, None] * similarity[classes]).clamp_min(MIN_CONCENTRATION)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        targets = torch.distributions.Dirichlet(concentration).sample()
    return targets, classes


def _draws(index: torch.Tensor, step: int, seed: int, salt: int) -> torch.Tensor:
    """A counter-based hash of (image index, step, seed, salt): ``(B,)`` int64 in [0, 2^31), so an
    image's jitter does not depend on the batch it is optimised in."""
    h = ((index & _MASK) * 0x5BD1E995 + ((step * 0x1B873593 + seed * 0x27D4EB2F + salt * 0x165667B1) & _MASK)) & _MASK
    for mult in (0x7FEB352D, 0x46B5A8D3):
        h = ((h ^ (h >> 15)) * mult) & _MASK
    return h ^ (h >> 16)


def _jittered(x: torch.Tensor, index: torch.Tensor, step: int, seed: int, jitter: int, flip: bool) -> torch.Tensor:
    """``x`` ``(B, C, H, W)``, each image rolled by its own shift in [-jitter, jitter] per axis and,
    with ``flip``, mirrored left-right with probability 1/2 (differentiable: an index gather)."""
    b, _, h, w = x.shape
    span = 2 * jitter + 1
    dy, dx = (_draws(index, step, seed, salt) % span - jitter for salt in (1, 2))
    mirror = (_draws(index, step, seed, 3) & 1).bool() & flip
    rows = (torch.arange(h, device=x.device) - dy.to(x.device)[:, None]) % h           # (B, H)
    cols = (torch.arange(w, device=x.device) - dx.to(x.device)[:, None]) % w           # (B, W)
    cols = torch.where(mirror.to(x.device)[:, None], w - 1 - cols, cols)
    return x[torch.arange(b, device=x.device)[:, None, None], :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def _total_variation(x: torch.Tensor) -> torch.Tensor:
    """``(B,)``: mean absolute difference of vertical plus horizontal neighbours per image."""
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean((1, 2, 3)) + (x[..., 1:] - x[..., :-1]).abs().mean((1, 2, 3))


def data_impressions(teacher: nn.Module, start: torch.Tensor, *, iterations: int = 100, lr: float = 0.01,
                     temperature: float = 20.0, tv: float = 1.0, jitter: int = 2, flip: bool = True,
                     batch_size: int = 512, seed: int = 0, first: int = 0, progress: bool = True) -> torch.Tensor:
    """Optimise ``start`` into data impressions of ``teacher`` (module docstring).

    Args:
        teacher: a frozen classifier taking ``start``'s layout to logits ``(N, K)``; put in eval mode.
        start: ``(N, C, H, W)`` float in [0, 1] on the teacher's device, the initial images.
        iterations: Adam steps per image, >= 1.
        lr: Adam learning rate on [0, 1] pixels, > 0.
        temperature: softmax temperature of the matched output, > 0 (ZSKD: 20).
        tv: weight of the total-variation prior per image, >= 0 (0: off; the cross-entropy per image
            is about 1 at the targets).
        jitter: the largest random shift in pixels at each step, >= 0 (0: none).
        flip: also mirror each image left-right with probability 1/2 at each step. Right for
            teachers whose classes survive a mirror image (objects, clothes), not for digits or text.
        batch_size: images optimised together, >= 1 (each image's result does not depend on it
            up to float rounding: the loss is a per-image sum and the jitter a per-image hash).
        seed: seed of the Dirichlet targets and the jitter.
        first: the set index of ``start[0]``, >= 0: image ``k`` gets the target and jitter of image
            ``first + k``, so a set can be made in parts (the targets of a prefix do not depend on
            the count drawn).
        progress: a tqdm bar over the images.

    Returns:
        ``(N, C, H, W)`` float32 in [0, 1] on ``start``'s device.

    Raises:
        ValueError: an argument outside its range (named with the allowed range), or ``start``
            not a 4-d float batch.
    """
    for name, value, ok, allowed in (("iterations", iterations, iterations >= 1, ">= 1"), ("lr", lr, lr > 0, "> 0"),
                                     ("temperature", temperature, temperature > 0, "> 0"), ("tv", tv, tv >= 0, ">= 0"),
                                     ("jitter", jitter, jitter >= 0, ">= 0"), ("first", first, first >= 0, ">= 0"),
                                     ("batch_size", batch_size, batch_size >= 1, ">= 1")):
        if not ok:
            raise ValueError(f"data impressions: {name} {value} is invalid: allowed {allowed}")
    if start.ndim != 4 or not start.is_floating_point():
        raise ValueError(f"data impressions start from a float (N, C, H, W) batch, got {start.dtype} {tuple(start.shape)}")
    teacher.eval()
    targets, _ = soft_targets(class_similarity(teacher), first + len(start), seed)
    targets = targets[first:].to(start.device)
    params = [p for p in teacher.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    out = []
    try:
        bar = tqdm(total=len(start), unit="img", desc="data impressions", disable=not progress, dynamic_ncols=True)
        for a in range(0, len(start), batch_size):
            x = start[a:a + batch_size].detach().clone().float().requires_grad_(True)
            y = targets[a:a + batch_size]
            index = torch.arange(first + a, first + a + len(x))
            opt = torch.optim.Adam([x], lr=lr)
            for step in range(iterations):
                seen = _jittered(x, index, step, seed, jitter, flip) if jitter or flip else x
                loss = -(y * F.log_softmax(teacher(seen).float() / temperature, 1)).sum()
                if tv:
                    loss = loss + tv * _total_variation(x).sum()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                with torch.no_grad():
                    x.clamp_(0, 1)
            out.append(x.detach())
            bar.update(len(x))
        bar.close()
    finally:
        for p in params:
            p.requires_grad_(True)
    return torch.cat(out)


def impressions_array(teacher: nn.Module, images: np.ndarray, size: int, channels: int, device: torch.device,
                      **kwargs) -> np.ndarray:
    """Data impressions of an image array in the shader sets' layout.

    Args:
        teacher: the frozen teacher, on ``device``, taking ``(N, channels, size, size)``.
        images: ``(N, 3, H, W)`` uint8 RGB, e.g. a decoded shard set.
        size, channels: the teacher's input side and channels (the images are converted by
            :func:`unnatural.distill.kd.as_float_images`).
        **kwargs: passed to :func:`data_impressions`.

    Returns:
        ``(N, 3, size, size)`` uint8: the impressions, grey ones repeated to RGB (BT.601 luma of
        equal channels is the grey itself), so they stack with shader sets.
    """
    from .kd import as_float_images

    start = as_float_images(torch.from_numpy(np.array(images)), device, size, channels)   # a copy: mmap slices are read-only
    x = data_impressions(teacher, start, **kwargs)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return x.mul(255).round_().clamp_(0, 255).to(torch.uint8).cpu().numpy()


def impressions_file(path: str | Path, teacher: nn.Module, images: np.ndarray, size: int, channels: int,
                     device: torch.device, *, inputs: dict, head: np.ndarray | None = None, first: int = 0,
                     progress: bool = True, **kwargs) -> Path:
    """Write ``head`` then the data impressions of ``images`` to the ``.npy`` file ``path``,
    resumably: the impressions are made in parts of :data:`PART` images, each saved (temporary
    name, then renamed) in the folder ``PATH.parts`` as it finishes. A run started again with the
    same settings keeps the parts it finds and optimises only the rest; ``path`` is written once
    complete and the folder removed. An image's impression depends on its set index, not on its
    part (:func:`data_impressions`), so a resumed set is the set made in one go.

    Args:
        path: the ``.npy`` array to write: ``(len(head) + N, 3, size, size)`` uint8.
        teacher, images, size, channels, device, **kwargs: as :func:`impressions_array`
            (``images`` ``(N, 3, H, W)`` uint8; ``kwargs`` the optimisation settings).
        inputs: what identifies the teacher and start images (e.g. file digests), JSON-able:
            recorded with the settings in ``PATH.parts/settings.json``.
        head: ``(M, 3, size, size)`` uint8 images written before the impressions (the start set,
            or the impressions of earlier indices), or ``None``.
        first: the set index of ``images[0]`` (its targets and jitter; :func:`data_impressions`).
        progress: a tqdm bar over the images, resumed parts counted as done.

    Returns:
        ``path``.

    Raises:
        ValueError: ``PATH.parts`` holds parts made with other settings or inputs (it names the
            folder to delete), or an argument :func:`data_impressions` refuses.
    """
    from unnatural.generator.files import atomic_open, atomic_write

    path = Path(path)
    parts = path.with_name(path.name + ".parts")
    settings = {"inputs": inputs, "first": first, "images": len(images),
                **{k: v for k, v in sorted(kwargs.items()) if k != "batch_size"}}
    record = parts / "settings.json"
    if record.is_file() and json.loads(record.read_text()) != settings:
        raise ValueError(f"{parts} holds parts made with other settings ({record.read_text().strip()}); "
                         f"delete the folder to start again, or repeat those settings to resume")
    names = [parts / f"{first + a:010d}.npy" for a in range(0, len(images), PART)]
    with tqdm(total=len(images), unit="img", desc="data impressions", disable=not progress, dynamic_ncols=True) as bar:
        for a, name in zip(range(0, len(images), PART), names):
            count = min(PART, len(images) - a)
            if not name.is_file():
                out = impressions_array(teacher, images[a:a + count], size, channels, device, first=first + a,
                                        progress=False, **kwargs)
                if not record.is_file():        # made on the first finished part: bad input leaves nothing
                    parts.mkdir(exist_ok=True)
                    atomic_write(record, json.dumps(settings, sort_keys=True).encode())
                with atomic_open(name) as f:
                    np.save(f, out)
            bar.update(count)
    blocks = ([head] if head is not None else []) + [np.load(name) for name in names]
    with atomic_open(path) as f:
        np.save(f, np.concatenate(blocks))
    shutil.rmtree(parts)
    return path
