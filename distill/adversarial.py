"""Adversarial samples at the teacher's decision boundary.

Frank & Davis (arXiv:2310.13782; docs/METHODS.md §1): an L-infinity iterative attack (BIM, Kurakin
et al. 2017) on the teacher's cross-entropy, targeted towards a class t. The pair of iterates
just before and just after the teacher's decision crosses to t is kept, and each is pushed one
step deeper into its own class: 4 new samples per original, all near the boundary, where soft
labels carry the most information (criterion (c)). The step size follows a "bold driver":
x1.1 after a step that has not crossed yet; after a step that crossed with max softmax >= 0.9
(overshoot) the step is reverted and halved.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

MIN_STEP = 1e-4   # an overshooting step is not halved below this (the crossing is then kept)


@dataclass(frozen=True)
class BoundarySamples:
    """Result of :func:`boundary_samples` for N originals.

    Attributes:
        images: ``(4N, 3, H, W)`` float in [0, 1]: ``[before, after, before_deeper,
            after_deeper]``, each block N long.
        source: ``(N,)`` int64 teacher class of the originals; ``target``: ``(N,)`` int64.
        crossed: ``(N,)`` bool: the teacher predicts ``target`` at ``after``.
    """

    images: torch.Tensor
    source: torch.Tensor
    target: torch.Tensor
    crossed: torch.Tensor


def _grad_step(teacher, x: torch.Tensor, cls: torch.Tensor) -> torch.Tensor:
    """sign of the gradient that lowers CE(teacher(x), cls) (so ``x - step * g`` moves into cls)."""
    x = x.detach().requires_grad_(True)
    loss = F.cross_entropy(teacher(x), cls, reduction="sum")
    (grad,) = torch.autograd.grad(loss, x)
    return grad.sign()


@torch.no_grad()
def _predict(teacher, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    prob = teacher(x).softmax(1)
    conf, pred = prob.max(1)
    return pred, conf


def boundary_samples(teacher: torch.nn.Module, x: torch.Tensor, target: torch.Tensor | None = None, *,
                     step: float = 2 / 255, eps: float = 0.5, max_iters: int = 30, overshoot: float = 0.9,
                     generator: torch.Generator | None = None) -> BoundarySamples:
    """Targeted bold-driver BIM on the teacher; returns the boundary pairs and their pushes.

    Args:
        teacher: frozen classifier mapping ``(N, 3, H, W)`` in [0, 1] to logits ``(N, K)``.
        x: ``(N, 3, H, W)`` float in [0, 1].
        target: ``(N,)`` int64 target classes; ``None``: a random class other than the teacher's.
        step: initial L-inf step (per pixel, [0, 1] scale); it adapts per sample.
        eps: L-inf bound of the perturbation around ``x``.
        max_iters: attack iterations; samples that never cross keep their last pair.
        overshoot: a crossing with teacher confidence >= this is reverted and the step halved.

    Returns:
        :class:`BoundarySamples` (4N images).
    """
    x0 = x.detach()
    n = len(x0)
    source, _ = _predict(teacher, x0)
    if target is None:
        k = teacher(x0[:1]).shape[1]
        offset = torch.randint(1, k, (n,), generator=generator).to(x0.device)
        target = (source + offset) % k
    target = target.to(x0.device)
    steps = torch.full((n, 1, 1, 1), float(step), device=x0.device)
    before, after = x0.clone(), x0.clone()
    done = torch.zeros(n, dtype=torch.bool, device=x0.device)
    for _ in range(max_iters):
        if done.all():
            break
        active = ~done
        cur = before[active]
        candidate = cur - steps[active] * _grad_step(teacher, cur, target[active])
        candidate = torch.min(torch.max(candidate, x0[active] - eps), x0[active] + eps).clamp(0, 1)
        pred, conf = _predict(teacher, candidate)
        crossed = pred == target[active]
        idx = active.nonzero().squeeze(1)
        # just across, or overshooting with a step too small to halve again: keep the pair
        accept = crossed & ((conf < overshoot) | (steps[idx].flatten() < MIN_STEP))
        over = crossed & ~accept                         # overshot: revert, halve the step
        ahead = ~crossed                                 # not there yet: accept, grow the step
        after[idx[accept]] = candidate[accept]
        done[idx[accept]] = True
        steps[idx[over]] *= 0.5
        before[idx[ahead]] = candidate[ahead]
        steps[idx[ahead]] *= 1.1
    # never crossed: the last iterate stands in for "after" too
    after[~done] = before[~done]
    pred_after, _ = _predict(teacher, after)
    crossed = pred_after == target
    deeper_before = (before - steps * _grad_step(teacher, before, source)).clamp(0, 1)
    deeper_after = (after - steps * _grad_step(teacher, after, target)).clamp(0, 1)
    images = torch.cat([before, after, deeper_before, deeper_after]).detach()
    return BoundarySamples(images, source, target, crossed)
